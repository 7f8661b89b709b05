"""Helpers that put served lists in place for tests: a batch and its rows."""

from django.utils import timezone

from mlops.models import ModelVersion, Run, ServedBatch
from recommender.models import ProductRecommendation, Recommendation


def served_batch(state=ServedBatch.State.ACTIVE) -> ServedBatch:
    """Return a new served recommender batch (the active one if there is one)."""
    active = ServedBatch.objects.filter(kind="recommender", state="active").first()
    if active and state == ServedBatch.State.ACTIVE:
        return active
    run = Run.objects.create(kind="recommender", type=Run.Type.INFER)
    model = ModelVersion.objects.create(
        kind="recommender",
        version=ModelVersion.objects.count() + 1,
        algorithm="test",
        status="challenger",
        trained_at=timezone.now(),
    )
    return ServedBatch.objects.create(
        kind="recommender", model_version=model, run=run, state=state
    )


def serve_for(customer, products, batch=None) -> ServedBatch:
    batch = batch or served_batch()
    Recommendation.objects.bulk_create(
        Recommendation(
            batch=batch,
            customer=customer,
            rank=rank,
            product=product,
            score=1.0 / rank,
            reason=f"because {rank}",
        )
        for rank, product in enumerate(products, start=1)
    )
    return batch


def serve_list(product, products, list_name, batch=None) -> ServedBatch:
    batch = batch or served_batch()
    ProductRecommendation.objects.bulk_create(
        ProductRecommendation(
            batch=batch,
            product=product,
            list=list_name,
            rank=rank,
            recommended=other,
            score=1.0 / rank,
            reason="",
        )
        for rank, other in enumerate(products, start=1)
    )
    return batch
