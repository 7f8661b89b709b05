"""Served segments written directly, for admin and API tests that need no training."""

from decimal import Decimal

from django.utils import timezone

from mlops.models import ModelVersion, Run, ServedBatch
from recommender.models import CustomerSegment, SegmentSnapshot
from tests.factories import CustomerFactory


def served_segments_batch(state=ServedBatch.State.ACTIVE) -> ServedBatch:
    """Create a segments batch (and the run and version it needs)."""
    train = Run.objects.create(kind="segments", type=Run.Type.TRAIN)
    version = ModelVersion.objects.create(
        kind="segments",
        version=ModelVersion.objects.filter(kind="segments").count() + 1,
        algorithm="logistic-churn",
        status=ModelVersion.Status.CHALLENGER,
        trained_at=timezone.now(),
        run=train,
    )
    infer = Run.objects.create(kind="segments", type=Run.Type.INFER)
    return ServedBatch.objects.create(
        kind="segments", model_version=version, run=infer, state=state
    )


def segment_row(batch, customer=None, *, segment="champions", risk=0.2, money="100"):
    """Write one served profile; a new customer unless one is given."""
    return CustomerSegment.objects.create(
        batch=batch,
        customer=customer or CustomerFactory(profile__marketing_opt_in=True),
        recency_days=5,
        frequency=4,
        monetary=Decimal(money),
        r_score=5,
        f_score=4,
        m_score=3,
        rfm_segment=segment,
        cluster=0,
        cluster_label="Garden, mid-price",
        churn_risk=risk,
        price_band="mid-price",
        category_affinities=[
            {"category": 1, "name": "Garden > Tools", "share": 0.75},
            {"category": 2, "name": "Kitchen", "share": 0.25},
        ],
    )


def snapshot(batch, transitions=None) -> SegmentSnapshot:
    return SegmentSnapshot.objects.create(
        batch=batch,
        taken_at=timezone.now(),
        sizes={"champions": 2, "at_risk": 1},
        revenue={"champions": 200.0, "at_risk": 50.0},
        transitions=transitions or {},
    )
