"""Served lists and forecasts put in place for benchmarks (no model is trained).

Each function makes a fresh active batch of its kind (the previous one superseded)
and bulk-creates its rows; the figures are arbitrary but shaped like real ones.
"""

import random
from datetime import timedelta

BATCH = 5000
LIST_LENGTH = 20
HORIZON = 28


def active_batch(kind: str):
    """Return a new active served batch of `kind` with a version and run of its own."""
    from django.utils import timezone

    from mlops.models import ModelVersion, Run, ServedBatch

    now = timezone.now()
    ServedBatch.objects.filter(kind=kind, state="active").update(state="superseded")
    version = ModelVersion.objects.create(
        kind=kind,
        version=ModelVersion.objects.filter(kind=kind).count() + 1,
        algorithm="bench",
        status="challenger",
        trained_at=now,
    )
    run = Run.objects.create(kind=kind, type=Run.Type.INFER)
    return ServedBatch.objects.create(
        kind=kind, model_version=version, run=run, state="active", activated_at=now
    )


def picks(rng: random.Random, among: list[int], exclude: int = -1) -> list[int]:
    """Return LIST_LENGTH random ids from `among`, never `exclude`."""
    chosen = rng.sample(among, min(LIST_LENGTH + 1, len(among)))
    return [pk for pk in chosen if pk != exclude][:LIST_LENGTH]


def serve_product_lists(batch, product_ids, among: list[int], rng) -> None:
    """Serve "similar" and "bought together" lists for `product_ids` in `batch`."""
    from recommender.models import ProductRecommendation

    ProductRecommendation.objects.bulk_create(
        (
            ProductRecommendation(
                batch=batch,
                product_id=product,
                list=name,
                rank=rank,
                recommended_id=other,
                score=1 / rank,
            )
            for product in product_ids
            for name in ("similar", "bought_together")
            for rank, other in enumerate(picks(rng, among, product), start=1)
        ),
        batch_size=BATCH,
    )


def serve_customer_lists(batch, customers, among: list[int], rng) -> None:
    """Serve a "for you" list for each of `customers` in `batch`."""
    from recommender.models import Recommendation

    Recommendation.objects.bulk_create(
        (
            Recommendation(
                batch=batch,
                customer=customer,
                rank=rank,
                product_id=product,
                score=1 / rank,
                reason="because you bought something",
            )
            for customer in customers
            for rank, product in enumerate(picks(rng, among), start=1)
        ),
        batch_size=BATCH,
    )


def serve_forecasts(product_ids) -> None:
    """Serve 28 days of demand and price forecasts and a demand summary each."""
    from django.utils import timezone

    from forecasting.models import ForecastPoint, ForecastSummary

    today = timezone.localdate()
    batches = {kind: active_batch(kind) for kind in ("demand", "price")}
    for kind, batch in batches.items():
        ForecastPoint.objects.bulk_create(
            (
                ForecastPoint(
                    batch=batch,
                    product_id=product,
                    kind=kind,
                    frequency="D",
                    period_start=today + timedelta(days=day),
                    p10=1.0 + day % 3,
                    p50=2.0 + day % 3,
                    p90=3.0 + day % 3,
                )
                for product in product_ids
                for day in range(HORIZON)
            ),
            batch_size=BATCH,
        )
    ForecastSummary.objects.bulk_create(
        (
            ForecastSummary(
                batch=batches["demand"],
                product_id=product,
                frequency="D",
                horizon_units_p10=30.0,
                horizon_units_p50=60.0,
                horizon_units_p90=90.0,
                explanation="Bench forecast.",
            )
            for product in product_ids
        ),
        batch_size=BATCH,
    )
