"""Helpers that put served forecasts in place for tests: a batch and its rows."""

from datetime import date, timedelta

from django.utils import timezone

from forecasting.models import ForecastPoint, ForecastSummary
from mlops.models import ModelKind, ModelVersion, Run, ServedBatch


def served_batch(kind=ModelKind.DEMAND, state=ServedBatch.State.ACTIVE) -> ServedBatch:
    """Return a new served batch of `kind` (the active one if there is one)."""
    active = ServedBatch.objects.filter(kind=kind, state="active").first()
    if active and state == ServedBatch.State.ACTIVE:
        return active
    run = Run.objects.create(kind=kind, type=Run.Type.INFER)
    model = ModelVersion.objects.create(
        kind=kind,
        version=ModelVersion.objects.filter(kind=kind).count() + 1,
        algorithm="test",
        status="challenger",
        trained_at=timezone.now(),
    )
    return ServedBatch.objects.create(
        kind=kind, model_version=model, run=run, state=state
    )


def serve_forecast(
    product,
    p50,
    *,
    kind=ForecastPoint.Kind.DEMAND,
    start: date | None = None,
    frequency="D",
    spread=0.0,
    batch=None,
) -> ServedBatch:
    """Serve P50 values from `start` (today), P10/P90 at ± `spread`."""
    batch = batch or served_batch(ModelKind(kind))
    start = start or timezone.localdate()
    step = 7 if frequency == "W" else 1
    ForecastPoint.objects.bulk_create(
        ForecastPoint(
            batch=batch,
            product=product,
            kind=kind,
            frequency=frequency,
            period_start=start + timedelta(days=i * step),
            p10=max(0.0, value - spread),
            p50=value,
            p90=value + spread,
        )
        for i, value in enumerate(p50)
    )
    return batch


def serve_summary(product, *, elasticity=None, level="", batch=None, **fields):
    batch = batch or served_batch(ModelKind.DEMAND)
    values = {
        "frequency": "D",
        "horizon_units_p10": 1.0,
        "horizon_units_p50": 2.0,
        "horizon_units_p90": 3.0,
        "explanation": "Demand holds steady.",
        "breakdown": {"base": 2.0},
    }
    values.update(fields)
    return ForecastSummary.objects.create(
        batch=batch,
        product=product,
        elasticity=elasticity,
        elasticity_level=level,
        **values,
    )
