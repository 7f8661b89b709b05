"""What each model kind provides to the platform, and where each kind lives.

A kind trains a model and measures it against its baselines on held-out data, loads an
artifact, and writes served results for one chunk of keys. Kind modules are imported
only inside tasks and commands, so that nothing heavy loads when a web or worker
process starts.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol

from .ml.progress import ProgressSink
from .models import ModelKind


@dataclass(frozen=True)
class Candidate:
    """A servable model: the kind's own model or a baseline that can be served."""

    algorithm: str
    metrics: dict[str, float]
    artifact: bytes
    artifact_extension: str = "npz"
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run measured and produced, all on the same held-out data."""

    model: Candidate
    baselines: dict[str, Candidate]
    protocol: dict[str, Any]
    data_fingerprint: dict[str, Any]
    champion_metrics: dict[str, float] | None = None

    def baseline_metrics(self) -> dict[str, dict[str, float]]:
        return {name: c.metrics for name, c in self.baselines.items()}


@dataclass(frozen=True)
class ChampionArtifact:
    """The current champion, so that a run can re-measure it on its own held-out data."""

    algorithm: str
    artifact: bytes
    hyperparameters: dict[str, Any]


@dataclass
class TrainContext:
    seed: int
    progress: ProgressSink
    log: Callable[[str], None]
    options: dict[str, Any]
    champion: ChampionArtifact | None


class KindSpec(Protocol):
    kind: str
    primary_metric: str
    higher_is_better: bool

    def train(self, context: TrainContext) -> TrainingOutcome: ...

    def load(self, algorithm: str, artifact: bytes) -> Any: ...

    def inference_keys(self) -> list[int]: ...

    def infer_chunk(self, *, model: Any, keys: list[int], batch_id: int) -> int: ...

    def delete_batch_rows(self, batch_ids: list[int]) -> None: ...


KIND_MODULES: dict[str, str] = {
    ModelKind.RECOMMENDER: "recommender.mlkind:RecommenderKind",
    ModelKind.SEGMENTS: "recommender.segments_kind:SegmentsKind",
    ModelKind.DEMAND: "forecasting.mlkind:DemandKind",
    ModelKind.PRICE: "forecasting.mlkind:PriceKind",
    ModelKind.IMAGE: "catalog.mlkind:ImageKind",
}


class RunRefused(Exception):
    """An error that retrying cannot fix (no data, no champion): fail the run at once."""


class KindNotAvailable(RunRefused, LookupError):
    pass


def available_kinds() -> list[str]:
    return list(KIND_MODULES)


def get_kind(kind: str) -> KindSpec:
    """Return the spec object of a kind; raise KindNotAvailable for unknown ones."""
    try:
        module_name, class_name = KIND_MODULES[kind].split(":")
    except KeyError:
        known = ", ".join(available_kinds())
        raise KindNotAvailable(
            f"Model kind {kind!r} is not available yet; available: {known}."
        ) from None
    return getattr(import_module(module_name), class_name)()


def is_better(spec: KindSpec, new: dict, old: dict) -> bool:
    """Return True if `new` beats `old` on the kind's primary metric (ties do not)."""
    a, b = new.get(spec.primary_metric), old.get(spec.primary_metric)
    if a is None:
        return False
    if b is None:
        return True
    return a > b if spec.higher_is_better else a < b
