"""Reads of the registry and runs."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.module_loading import import_string

from .models import ModelKind, ModelVersion, Run, ServedBatch

# The primary metric of each kind and whether higher is better, as the kinds'
# specs declare them (tests/mlops/test_dashboard.py checks they agree). Pages read
# them from here: importing a kind's module loads TensorFlow, seconds per request.
KIND_METRICS: dict[str, tuple[str, bool]] = {
    ModelKind.RECOMMENDER: ("ndcg@10", True),
    ModelKind.SEGMENTS: ("auc", True),
    ModelKind.DEMAND: ("mase", False),
    ModelKind.PRICE: ("mase", False),
    ModelKind.IMAGE: ("accuracy_all_kinds", True),
}
# Kinds whose served rows pass serve-time filters: where their counts are read.
SERVING_FILTERS = {ModelKind.RECOMMENDER: "recommender.selectors.served_rows_filtered"}


def model_report(*, kind: str | None = None) -> list[dict]:
    """Return the registry as DESIGN.md's JSON: one object per model version."""
    versions = ModelVersion.objects.order_by("kind", "version")
    if kind:
        versions = versions.filter(kind=kind)
    report = [version.as_report() for version in versions]
    for entry in report:
        if entry["status"] == ModelVersion.Status.CHAMPION:
            serving = serving_filters(entry["kind"])
            if serving is not None:
                entry["serving"] = serving.as_dict()
    return report


def serving_filters(kind: str):
    """What serve-time filters remove from a kind's active batch, and why (a
    `FilteredRows`), for the kinds that report it; else None. No TensorFlow."""
    path = SERVING_FILTERS.get(kind)
    return import_string(path)() if path else None


def runs_recent(*, limit: int = 20) -> QuerySet[Run]:
    return Run.objects.select_related("model_version", "trained_version")[:limit]


def runs_for_dashboard(*, limit: int = 10) -> list[Run]:
    """Return every queued or running run, then the latest finished ones."""
    active = list(
        Run.objects.filter(state__in=[Run.State.QUEUED, Run.State.RUNNING]).order_by(
            "-created_at", "-id"
        )[:50]
    )
    finished = list(
        Run.objects.filter(state__in=[Run.State.SUCCEEDED, Run.State.FAILED]).order_by(
            "-created_at", "-id"
        )[:limit]
    )
    return active + finished


def primary_metric(kind: str, metrics: dict) -> tuple[str | None, float | None]:
    """Return (metric name, value) of a kind's primary metric in `metrics`."""
    name = KIND_METRICS[kind][0] if kind in KIND_METRICS else next(iter(metrics), None)
    return name, metrics.get(name) if name else None


def best_baseline(version: ModelVersion) -> tuple[str, float] | None:
    """Return (name, value) of the version's best baseline on the primary metric."""
    name, _ = primary_metric(version.kind, version.metrics)
    values = [
        (metrics[name], baseline)
        for baseline, metrics in version.baselines.items()
        if name in metrics and metrics[name] is not None
    ]
    if not values:
        return None
    higher = KIND_METRICS.get(version.kind, (name, True))[1]
    value, baseline = (max if higher else min)(values)
    return baseline, value


def run_progress(run: Run) -> dict:
    """Return what a progress bar shows of a run, as JSON for the live admin pages."""
    return {
        "id": run.pk,
        "state": run.state,
        "state_display": run.get_state_display(),
        "progress": round(run.progress, 1),
        "message": run.message,
        "eta_seconds": run.eta_seconds,
        "finished": run.is_finished,
    }


def active_batches() -> dict[str, ServedBatch]:
    """Return the active served batch of each kind with its model version (one query)."""
    batches = ServedBatch.objects.filter(state=ServedBatch.State.ACTIVE).select_related(
        "model_version"
    )
    return {batch.kind: batch for batch in batches}


@dataclass(frozen=True)
class KindReadiness:
    """Whether a kind's model serves yet, and the run under way towards it."""

    kind: str
    label: str
    serving: bool
    run: Run | None  # the oldest queued or running run: the one being worked on

    def as_json(self) -> dict:
        return {
            "serving": self.serving,
            "run": None
            if self.run is None
            else {**run_progress(self.run), "type": self.run.get_type_display()},
        }


def kinds_readiness() -> dict[str, KindReadiness]:
    """Return, per kind, whether its model serves and its unfinished run (2 queries)."""
    serving = set(
        ServedBatch.objects.filter(state=ServedBatch.State.ACTIVE).values_list(
            "kind", flat=True
        )
    )
    unfinished: dict[str, Run] = {}
    for run in Run.objects.filter(
        state__in=[Run.State.QUEUED, Run.State.RUNNING]
    ).order_by("created_at", "id"):
        unfinished.setdefault(run.kind, run)
    return {
        kind: KindReadiness(kind, label, kind in serving, unfinished.get(kind))
        for kind, label in ModelKind.choices
    }
