"""The category chain learns which category follows which, and serves like the others."""

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from recommender import mlkind
from recommender.ml.category_chain import CategoryChain
from recommender.ml.protocol import Interactions
from recommender.mlkind import RecommenderKind
from recommender.models import Recommendation
from tests.factories import ProductFactory
from tests.recommender.serving_support import served_batch

N_CATEGORIES = 6
PER_CATEGORY = 4
N_ITEMS = N_CATEGORIES * PER_CATEGORY
NEXT = np.array([3, 5, 0, 4, 1, 2])  # the planted transition: category -> next


def planted(n_users=150, length=8, seed=3) -> Interactions:
    """Purchases every 3 days; 70 % of them in the category NEXT[previous one]'s."""
    rng = np.random.default_rng(seed)
    users, items, days = [], [], []
    for user in range(n_users):
        category = int(rng.integers(N_CATEGORIES))
        for step in range(length):
            if step and rng.random() < 0.7:
                category = int(NEXT[category])
            elif step:
                category = int(rng.integers(N_CATEGORIES))
            # Within a category the first product sells best.
            rank = min(int(rng.geometric(0.5)) - 1, PER_CATEGORY - 1)
            users.append(user)
            items.append(category * PER_CATEGORY + rank)
            days.append(3.0 * step + rng.random())
    weight = np.ones(len(users), np.float32)
    return Interactions(
        np.array(users), np.array(items), np.array(days), n_users, N_ITEMS, weight
    )


def chain() -> CategoryChain:
    item_category = np.repeat(np.arange(N_CATEGORIES), PER_CATEGORY)
    return CategoryChain(item_category=item_category, n_categories=N_CATEGORIES)


def test_chain_learns_a_planted_category_transition():
    model = chain().fit(planted())

    learned = model.transition[:N_CATEGORIES].argmax(axis=1)
    np.testing.assert_array_equal(learned, NEXT)
    # A new customer who just bought in category c is offered category NEXT[c] first,
    # its best seller on top.
    for category in range(N_CATEGORIES):
        item = category * PER_CATEGORY + 1
        history = Interactions(
            np.array([0]), np.array([item]), np.array([0.0]), 1, N_ITEMS, None
        )
        scores = model.score(history, np.array([0]))[0]
        assert scores.argmax() == NEXT[category] * PER_CATEGORY


def test_affinity_and_chain_beat_what_is_popular_on_held_out_purchases():
    data = planted(seed=4)
    last = np.r_[data.user[1:] != data.user[:-1], True]
    history = data.take(~last)
    model = chain().fit(history)
    scores = model.score(history, np.arange(data.n_users))
    hits = (scores.argmax(axis=1) // PER_CATEGORY) == (data.item[last] // PER_CATEGORY)
    assert hits.mean() > 0.5  # about 0.7 + 0.3 / 6 by construction


@pytest.mark.django_db
def test_chain_serves_through_the_kind_with_because_you_bought(monkeypatch):
    products = [ProductFactory(stock_tracked=False) for _ in range(N_ITEMS)]
    product_ids = np.array([p.pk for p in products], dtype=np.int64)
    customers = [get_user_model().objects.create_user(f"chain{i}").pk for i in range(3)]
    # Two customers with purchases (and a view), the third a newcomer.
    history = Interactions(
        np.array([0, 0, 0, 1, 1]),
        np.array([0, 5, 9, 13, 2]),
        np.array([1.0, 4.0, 5.0, 2.0, 6.0]),
        3,
        N_ITEMS,
        np.array([1.0, 1.0, 0.1, 1.0, 1.0], np.float32),
    )
    model = chain().fit(planted())
    popularity = np.full(N_ITEMS, 1.0 / N_ITEMS, np.float32)
    artifact = model.to_bytes(product_ids=product_ids, popularity=popularity)

    served = RecommenderKind().load(model.algorithm, artifact)

    assert isinstance(served.model, CategoryChain)
    np.testing.assert_allclose(
        served.model.score(history, np.arange(3)), model.score(history, np.arange(3))
    )
    fresh = CategoryChain(**mlkind._constructor_args(served.model))
    assert fresh.transition is None and fresh.half_life_days == model.half_life_days

    monkeypatch.setattr(RecommenderKind, "_history", lambda self, m, keys: history)
    batch = served_batch()
    written = RecommenderKind()._write_for_you(served, customers, batch.pk)

    rows = Recommendation.objects.filter(batch=batch)
    assert written == rows.count() > 0
    first = rows.filter(customer_id=customers[0]).order_by("rank")
    bought = {products[0].pk, products[5].pk}
    assert not bought & set(first.values_list("product_id", flat=True))
    # Category 1 (item 5) was bought last: NEXT[1] = 5 leads, because of item 5.
    top = first.first()
    assert top.product_id == products[NEXT[1] * PER_CATEGORY].pk
    assert top.reason == f"Because you bought {products[5].name}"
    newcomer = set(
        rows.filter(customer_id=customers[2]).values_list("reason", flat=True)
    )
    assert newcomer == {"Popular right now"}
