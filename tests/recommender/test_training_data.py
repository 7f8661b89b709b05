"""The recommender's training data: weights, pseudonyms, erasure and the split."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommender.models import BehaviourEvent, ErasedCustomer
from recommender.privacy import pseudonymise
from recommender.training_data import leave_last_basket_out, training_frame
from tests.factories import (
    BehaviourEventFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def buy(customer, product, days_ago, hour=12):
    when = timezone.now().replace(hour=hour) - timedelta(days=days_ago)
    order = OrderFactory(customer=customer, placed_at=when)
    OrderLineFactory(order=order, product=product, line_number=1)
    return order


def event(customer, product, kind, days_ago, hour=12):
    when = timezone.now().replace(hour=hour) - timedelta(days=days_ago)
    return BehaviourEventFactory(
        customer=customer, product=product, kind=kind, occurred_at=when
    )


@pytest.fixture
def history():
    ann, ben = CustomerFactory(), CustomerFactory()
    a, b, c, d = (ProductFactory() for _ in range(4))
    buy(ann, a, 30)
    event(ann, b, BehaviourEvent.Kind.VIEW, 20)
    buy(ann, b, 20, hour=13)
    event(ann, c, BehaviourEvent.Kind.ADD_TO_CART, 10)
    buy(ann, c, 10, hour=13)
    event(ann, d, BehaviourEvent.Kind.VIEW, 5)  # after her last purchase
    buy(ben, d, 3)
    event(ben, a, BehaviourEvent.Kind.SEARCH, 2)  # searches are not interactions
    return ann, ben, (a, b, c, d)


def test_frame_weights_purchases_over_browsing_and_hides_customer_ids(history):
    ann, ben, _ = history
    frame = training_frame()

    data = frame.interactions
    assert data.n_users == 2 and len(data.user) == 7
    assert sorted(data.weight[frame.is_purchase].tolist()) == [1.0] * 4
    assert sorted(data.weight[~frame.is_purchase].tolist()) == pytest.approx(
        [0.1, 0.1, 0.3]
    )
    assert set(frame.customer_keys) == {pseudonymise(ann.pk), pseudonymise(ben.pk)}
    assert all(len(key) == 64 and key != str(ann.pk) for key in frame.customer_keys)
    assert frame.fingerprint()["purchases"] == 4


def test_erased_customers_are_left_out(history):
    ann, _, _ = history
    ErasedCustomer.objects.create(
        pseudonym=pseudonymise(ann.pk), erased_at=timezone.now()
    )
    frame = training_frame()
    assert frame.interactions.n_users == 1
    assert pseudonymise(ann.pk) not in set(frame.customer_keys)


def test_split_holds_out_last_day_when_orders_do_not_group_lines(history):
    ann, ben, (a, b, c, d) = history
    frame = training_frame()
    split = leave_last_basket_out(frame)
    item = {int(pk): i for i, pk in enumerate(frame.product_ids)}

    assert split.summary["basket"] == "day"  # one line an order
    assert split.test.items.tolist() == [item[c.pk]]
    assert split.validation.items.tolist() == [item[b.pk]]
    ann_index = int(split.test_users[0])
    before_test = split.train_plus_validation
    mine = before_test.item[before_test.user == ann_index]
    # a, view b, b — not the cart add of c that day, nor later rows
    assert sorted(mine.tolist()) == sorted([item[a.pk], item[b.pk], item[b.pk]])
    before_validation = split.train.item[split.train.user == ann_index]
    assert before_validation.tolist() == [item[a.pk]]  # not the view of b that day
    # Ben's only purchase has no history before it: cold start, measured apart.
    assert split.cold_start.items.tolist() == [item[d.pk]]
    assert split.summary["test_customers"] == 1
    assert split.summary["cold_start_customers"] == 1
    assert split.summary["history_removed_share"] == 0.0


def test_split_holds_out_the_last_order_with_every_line_as_a_target():
    ann = CustomerFactory()
    a, b, c, d, e = (ProductFactory() for _ in range(5))
    first = OrderFactory(customer=ann, placed_at=timezone.now() - timedelta(days=9))
    for number, product in enumerate([a, b], start=1):
        OrderLineFactory(order=first, product=product, line_number=number)
    morning = timezone.now().replace(hour=8) - timedelta(days=1)
    second = OrderFactory(customer=ann, placed_at=morning)
    for number, product in enumerate([c, a], start=1):
        OrderLineFactory(order=second, product=product, line_number=number)
    last = OrderFactory(customer=ann, placed_at=morning + timedelta(hours=5))
    for number, product in enumerate([d, e], start=1):
        OrderLineFactory(order=last, product=product, line_number=number)
    frame = training_frame()
    item = {int(pk): i for i, pk in enumerate(frame.product_ids)}

    split = leave_last_basket_out(frame)

    assert split.summary["basket"] == "order"
    assert sorted(split.test.items.tolist()) == sorted([item[d.pk], item[e.pk]])
    assert sorted(split.validation.items.tolist()) == sorted([item[c.pk], item[a.pk]])
    # The same morning's earlier order is history: nothing but the basket is cut.
    assert sorted(split.train_plus_validation.item.tolist()) == sorted(
        [item[p.pk] for p in (a, b, c, a)]
    )
    assert split.summary["history_lines_kept"] == split.summary["history_lines"] == 4
    # A shop may still ask for a gap: a day before the last order cuts the morning.
    gapped = leave_last_basket_out(frame, gap_days=1.0)
    assert gapped.summary["history_removed_share"] == 0.5


def test_inference_frame_follows_the_given_customer_order(history):
    ann, ben, _ = history
    frame = training_frame(customer_ids=[ben.pk, ann.pk])
    assert frame.customer_keys.tolist() == [pseudonymise(ben.pk), pseudonymise(ann.pk)]
    assert np.bincount(frame.interactions.user).tolist() == [1, 6]


def test_tuning_compares_configurations_on_a_seeded_sample_of_customers():
    from recommender.mlkind import _sample

    assert _sample(5, 10, seed=0).tolist() == [0, 1, 2, 3, 4]  # all when few
    sample = _sample(1000, 20, seed=3)
    assert len(set(sample.tolist())) == 20 and sample.tolist() == sorted(sample)
    assert sample.tolist() == _sample(1000, 20, seed=3).tolist()
    assert sample.tolist() != _sample(1000, 20, seed=4).tolist()


@pytest.mark.postgres
def test_times_are_the_same_seconds_whether_the_database_or_python_counts_them(
    history,
):
    """PostgreSQL computes the seconds (no datetimes loaded); SQLite's rows go
    through Python: both give exactly (when - EPOCH) in days, microseconds kept."""
    from recommender.models import BehaviourEvent as Event
    from recommender.training_data import EPOCH, SECONDS_PER_DAY

    OrderFactory._meta.model.objects.update(
        placed_at=timezone.now().replace(microsecond=123_457)
    )
    frame = training_frame()

    times = [
        *OrderFactory._meta.model.objects.values_list("placed_at", flat=True),
        *Event.objects.exclude(kind=Event.Kind.SEARCH).values_list(
            "occurred_at", flat=True
        ),
    ]
    expected = sorted((t - EPOCH).total_seconds() / SECONDS_PER_DAY for t in times)
    assert sorted(frame.interactions.day.tolist()) == expected
