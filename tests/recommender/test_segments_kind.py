"""The `segments` kind through the platform: train, gate, infer, snapshot."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import User
from catalog.models import Category, Product
from mlops.models import ModelVersion, Run, ServedBatch
from mlops.runs import run_request
from orders.models import Order, OrderLine
from recommender.models import CustomerSegment, SegmentSnapshot
from recommender.segments import customer_segment, segment_overview

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

HORIZON = 20


def build_lapsing_shop(*, customers=60, days=120, seed=0):
    """Customers buy every 4–10 days; every other one stops half-way through."""
    rng = np.random.default_rng(seed)
    cats = [Category.objects.create(name=f"Aisle {c}") for c in range(3)]
    products = Product.objects.bulk_create(
        Product(
            sku=f"S{c}-{i}",
            name=f"Thing {c}-{i}",
            category=cats[c],
            price=Decimal(5 + 10 * i),
            stock_tracked=False,
        )
        for c in range(3)
        for i in range(3)
    )
    users = User.objects.bulk_create(
        User(username=f"buyer{u}", email=f"buyer{u}@example.com", password="!")
        for u in range(customers)
    )
    start = timezone.now() - timedelta(days=days)
    orders, lines = [], []
    for u, user in enumerate(users):
        stop = days if u % 2 == 0 else int(rng.integers(20, days - 2 * HORIZON))
        day = int(rng.integers(0, 8))
        n = 0
        while day < stop:
            product = products[(u % 3) * 3 + int(rng.integers(3))]
            orders.append(
                Order(
                    number=f"L{u}-{n}",
                    customer=user,
                    status=Order.Status.COMPLETED,
                    placed_at=start + timedelta(days=day, hours=10),
                )
            )
            lines.append((orders[-1], product))
            day += int(rng.integers(4, 11))
            n += 1
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(
        OrderLine(order=o, line_number=1, product=p, quantity=1, unit_price=p.price)
        for o, p in lines
    )
    User.objects.create_user("browser")  # never bought
    User.objects.create_user("boss", is_staff=True)
    return users


@pytest.fixture
def lapsing_shop(db):
    return build_lapsing_shop()


def run(kind_type, **options):
    created = run_request(kind="segments", type=kind_type, options=options)
    created.refresh_from_db()
    assert created.state == Run.State.SUCCEEDED, created.error
    return created


def test_churn_model_beats_the_base_rate_and_registers(lapsing_shop):
    version = ModelVersion.objects.get(run=run(Run.Type.TRAIN, horizon_days=HORIZON))

    assert version.kind == "segments"
    assert set(version.metrics) == {"auc", "brier", "log_loss", "coverage"}
    assert set(version.baselines) == {"base-rate", "recency-rule"}
    for metrics in version.baselines.values():
        assert set(metrics) == set(version.metrics)
    assert version.baselines["base-rate"]["auc"] == 0.5
    assert version.metrics["auc"] >= version.baselines["base-rate"]["auc"]
    assert version.metrics["brier"] < version.baselines["base-rate"]["brier"]
    assert version.protocol["horizon_days"] == HORIZON
    encoder = version.protocol["encoder_heldout_nll"]
    assert encoder["reconstruction_nll"] < encoder["average_bag_nll"]
    champion = ModelVersion.objects.get(kind="segments", status="champion")
    best = max(version.baselines.items(), key=lambda item: item[1]["auc"])
    if version.metrics["auc"] > best[1]["auc"]:
        assert champion == version
    else:  # a tie goes to the baseline, which serves
        assert (champion.algorithm, champion.metrics) == best
        assert "the baseline serves" in champion.status_reason


def test_inference_writes_a_profile_per_customer_and_snapshots_movement(
    lapsing_shop,
):
    users = lapsing_shop
    run(Run.Type.TRAIN, horizon_days=HORIZON)
    run(Run.Type.INFER)

    batch = ServedBatch.objects.get(kind="segments", state=ServedBatch.State.ACTIVE)
    rows = CustomerSegment.objects.filter(batch=batch)
    served = rows.count()
    assert served == len(users) + 1  # and the browser; not staff
    browser = rows.get(customer__username="browser")
    assert (browser.frequency, browser.churn_risk, browser.cluster) == (0, None, -1)
    loyal, lapsed = customer_segment(users[0]), customer_segment(users[1])
    assert loyal.frequency > 0 and loyal.recency_days < HORIZON
    assert lapsed.recency_days > loyal.recency_days
    assert lapsed.churn_risk > loyal.churn_risk
    assert loyal.category_affinities[0]["name"] == "Aisle 0"
    assert loyal.category_affinities[0]["share"] == 1.0
    assert loyal.cluster_label.startswith("Aisle 0")
    assert loyal.price_band in {"budget", "mid-price", "premium"}
    # the learned codes group customers by the aisle they shop in
    aisle_of = {u.pk: i % 3 for i, u in enumerate(users)}
    clustered = rows.filter(customer_id__in=aisle_of).values_list("customer", "cluster")
    by_cluster = {}
    for customer_id, cluster in clustered:
        by_cluster.setdefault(cluster, []).append(aisle_of[customer_id])
    pure = sum(max(a.count(x) for x in set(a)) for a in by_cluster.values())
    assert pure / len(users) >= 0.9
    first = SegmentSnapshot.objects.get(batch=batch)
    assert first.transitions == {}
    assert sum(first.sizes.values()) == served

    run(Run.Type.INFER)

    second = SegmentSnapshot.objects.exclude(batch=batch).get()
    moves = sum(n for targets in second.transitions.values() for n in targets.values())
    assert moves == served  # everyone was in both batches
    assert second.transitions["new"]["new"] >= 1  # the browser stays new
    assert not CustomerSegment.objects.filter(batch=batch).exists()
    overview = segment_overview()
    assert sum(s["size"] for s in overview) == served
    assert sum(s["revenue_share"] for s in overview) == pytest.approx(1.0)


def test_training_without_history_is_refused(db):
    created = run_request(kind="segments", type=Run.Type.TRAIN)
    created.refresh_from_db()
    assert created.state == Run.State.FAILED
    assert "Not enough purchase history" in created.message
