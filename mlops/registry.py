"""Writes to the model registry: register versions, the champion gate, promotions."""

import hashlib
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from .kinds import Candidate, KindSpec, TrainingOutcome, is_better
from .models import ModelVersion, RegistryEvent, Run
from .storage import artifact_storage


class RegistryError(Exception):
    pass


def artifact_write(*, kind: str, run_id: int, candidate: Candidate) -> tuple[str, str]:
    """Store an artifact atomically; return (name, sha256). Same bytes twice: one file."""
    digest = hashlib.sha256(candidate.artifact).hexdigest()
    name = f"{kind}/run{run_id}-{candidate.algorithm}-{digest[:16]}.{candidate.artifact_extension}"
    storage = artifact_storage()
    if storage.exists(name) and _sha256_of(name) == digest:
        return name, digest
    stored = storage.save(name, ContentFile(candidate.artifact))
    return stored, digest


def artifact_read(version: ModelVersion) -> bytes:
    """Return a version's artifact bytes after checking their SHA-256."""
    with artifact_storage().open(version.artifact.name, "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != version.artifact_sha256:
        raise RegistryError(
            f"Artifact of {version} is corrupt: its SHA-256 does not match the registry."
        )
    return data


def _sha256_of(name: str) -> str:
    with artifact_storage().open(name, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _create_version(**fields) -> ModelVersion:
    """Create a version with the next number of its kind, retrying on a race."""
    for _ in range(5):
        try:
            with transaction.atomic():
                latest = ModelVersion.objects.filter(kind=fields["kind"]).aggregate(
                    n=Max("version")
                )["n"]
                return ModelVersion.objects.create(version=(latest or 0) + 1, **fields)
        except IntegrityError:
            continue
    raise RegistryError("Could not allocate a version number.")


def version_register(
    *,
    spec: KindSpec,
    run: Run,
    outcome: TrainingOutcome,
    seed: int,
    device: str,
    trained_at: datetime,
    training_seconds: float,
) -> ModelVersion:
    """Register a training run's model and apply the champion gate.

    The model becomes champion only if it beats the best baseline and the current
    champion (re-measured on the same held-out data) on the primary metric. If it
    loses but a servable baseline beats the champion, that baseline is registered
    and served instead, and the report says so. Idempotent per run.
    """
    existing = ModelVersion.objects.filter(run=run).first()
    if existing:
        return existing
    model = outcome.model
    name, digest = artifact_write(kind=spec.kind, run_id=run.pk, candidate=model)
    best_name, best = _best_baseline(spec, outcome)
    champion = ModelVersion.objects.filter(
        kind=spec.kind, status=ModelVersion.Status.CHAMPION
    ).first()
    champion_metrics = outcome.champion_metrics if champion else None
    common = dict(
        kind=spec.kind,
        protocol=outcome.protocol,
        seed=seed,
        data_fingerprint=outcome.data_fingerprint,
        trained_at=trained_at,
        training_seconds=training_seconds,
        device=device,
    )
    beats_baseline = best is None or is_better(spec, model.metrics, best.metrics)
    beats_champion = champion_metrics is None or is_better(
        spec, model.metrics, champion_metrics
    )
    with transaction.atomic():
        version = _create_version(
            algorithm=model.algorithm,
            status=ModelVersion.Status.CHALLENGER,
            metrics=model.metrics,
            baselines=outcome.baseline_metrics(),
            hyperparameters=model.hyperparameters,
            artifact=name,
            artifact_sha256=digest,
            run=run,
            **common,
        )
        _event(version, RegistryEvent.Action.REGISTERED, f"Trained by run {run.pk}.")
        metric = spec.primary_metric
        if beats_baseline and beats_champion:
            _promote(
                version,
                "Beat the best baseline and the current champion on "
                f"{metric} ({_fmt(model.metrics, metric)} vs baseline "
                f"{_fmt(best.metrics if best else {}, metric)}, champion "
                f"{_fmt(champion_metrics or {}, metric)}).",
            )
            return version
        if not beats_baseline:
            reason = (
                f"Lost to baseline {best_name} on {metric}: "
                f"{_fmt(model.metrics, metric)} vs {_fmt(best.metrics, metric)}."
            )
        else:
            reason = (
                f"Did not beat the current champion v{champion.version} on {metric} "
                f"re-measured on the same data: {_fmt(model.metrics, metric)} vs "
                f"{_fmt(champion_metrics, metric)}."
            )
        version.status_reason = reason
        version.save(update_fields=["status_reason"])
        _event(version, RegistryEvent.Action.KEPT_AS_CHALLENGER, reason)

    if (
        best is not None
        and not beats_baseline
        and (
            champion_metrics is None or is_better(spec, best.metrics, champion_metrics)
        )
    ):
        _register_serving_baseline(spec, run, outcome, best_name, best, common)
    return version


def _register_serving_baseline(
    spec, run, outcome, best_name, best, common
) -> ModelVersion:
    name, digest = artifact_write(kind=spec.kind, run_id=run.pk, candidate=best)
    others = {n: c.metrics for n, c in outcome.baselines.items() if n != best_name} | {
        outcome.model.algorithm: outcome.model.metrics
    }
    with transaction.atomic():
        version = _create_version(
            algorithm=best.algorithm,
            status=ModelVersion.Status.CHALLENGER,
            metrics=best.metrics,
            baselines=others,
            hyperparameters=best.hyperparameters,
            artifact=name,
            artifact_sha256=digest,
            **common,
        )
        _event(version, RegistryEvent.Action.REGISTERED, f"Baseline of run {run.pk}.")
        _promote(
            version,
            f"Baseline {best_name} beat the trained model "
            f"{outcome.model.algorithm} on {spec.primary_metric}; the baseline serves.",
        )
    return version


def _best_baseline(spec: KindSpec, outcome: TrainingOutcome):
    best_name, best = None, None
    for name, candidate in outcome.baselines.items():
        if best is None or is_better(spec, candidate.metrics, best.metrics):
            best_name, best = name, candidate
    return best_name, best


def _fmt(metrics: dict, metric: str) -> str:
    value = metrics.get(metric)
    return "n/a" if value is None else f"{value:.4f}"


def _event(version, action, reason, user=None) -> None:
    RegistryEvent.objects.create(
        version=version, action=action, reason=reason, user=user
    )


def _promote(version: ModelVersion, reason: str, user=None) -> None:
    current = (
        ModelVersion.objects.select_for_update()
        .filter(kind=version.kind, status=ModelVersion.Status.CHAMPION)
        .exclude(pk=version.pk)
    )
    for old in current:
        old.status = ModelVersion.Status.RETIRED
        old.status_reason = f"Replaced by v{version.version}."
        old.save(update_fields=["status", "status_reason"])
        _event(old, RegistryEvent.Action.RETIRED, old.status_reason, user)
    version.status = ModelVersion.Status.CHAMPION
    version.status_reason = reason
    version.save(update_fields=["status", "status_reason"])
    _event(version, RegistryEvent.Action.PROMOTED, reason, user)


@transaction.atomic
def version_promote(*, version: ModelVersion, user, reason: str) -> ModelVersion:
    """Make a version champion by hand (staff), recording who and why."""
    if not reason.strip():
        raise RegistryError("Say why you promote this version.")
    if version.status == ModelVersion.Status.FAILED or not version.artifact:
        raise RegistryError(f"{version} has no usable artifact and cannot serve.")
    _promote(version, f"Promoted by {user}: {reason}", user)
    return version


@transaction.atomic
def version_rollback(*, kind: str, user, reason: str) -> ModelVersion:
    """Put back the champion that the current one replaced, recording who and why."""
    if not reason.strip():
        raise RegistryError("Say why you roll back.")
    current = ModelVersion.objects.filter(
        kind=kind, status=ModelVersion.Status.CHAMPION
    ).first()
    if current is None:
        raise RegistryError(f"There is no {kind} champion to roll back.")
    previous = (
        ModelVersion.objects.filter(
            kind=kind,
            status=ModelVersion.Status.RETIRED,
            events__action=RegistryEvent.Action.PROMOTED,
        )
        .exclude(pk=current.pk)
        .order_by("-events__at")
        .first()
    )
    if previous is None:
        raise RegistryError(f"No earlier {kind} champion to roll back to.")
    _promote(previous, f"Rolled back by {user} from v{current.version}: {reason}", user)
    _event(current, RegistryEvent.Action.ROLLED_BACK, f"By {user}: {reason}", user)
    return previous
