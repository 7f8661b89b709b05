"""The block-wise "for you" writer serves what a plain per-customer reference computes."""

import numpy as np
import pytest
from django.contrib.auth import get_user_model

from mlops.ml.ranking_metrics import top_k
from recommender import mlkind
from recommender.ml.neighbours import EASE, ItemKNN
from recommender.ml.popularity import CategoryPopularity, RecentPopularity
from recommender.ml.protocol import Interactions, fast_top_k
from recommender.mlkind import RecommenderKind, ServedModel
from recommender.models import Recommendation
from recommender.selectors import BUY_AGAIN_REASON
from tests.factories import ProductFactory
from tests.recommender.serving_support import served_batch

N_ITEMS = 40  # more than TOP_N + what anyone bought: no short lists
N_USERS = 9  # the last one has no history: a newcomer


def shop_history(seed=5) -> Interactions:
    """Purchases (weight 1) and browsing (0.1, 0.3) of N_USERS - 1 customers."""
    rng = np.random.default_rng(seed)
    user = rng.integers(0, N_USERS - 1, 120)
    item = rng.integers(0, N_ITEMS, 120)
    day = rng.integers(0, 40, 120).astype(np.float64)  # equal days happen
    weight = rng.choice([1.0, 1.0, 0.3, 0.1], 120).astype(np.float32)
    order = np.lexsort((day, user))
    return Interactions(
        user[order], item[order], day[order], N_USERS, N_ITEMS, weight[order]
    )


def fitted(name: str, history: Interactions):
    rng = np.random.default_rng(11)
    if name == "ease":
        model = EASE(l2=3.0).fit(history)
        # Random weights instead of the learnt ones: no two scores tie.
        model.weights = rng.normal(size=model.weights.shape).astype(np.float32)
        return model
    if name == "item-knn":
        model = ItemKNN(k=N_ITEMS).fit(history)
        # Every other item a neighbour, in random order, at a random similarity.
        others = [
            rng.permutation(np.delete(np.arange(N_ITEMS), i)) for i in range(N_ITEMS)
        ]
        model.neighbours = np.array(others)
        model.similarities = rng.random(model.neighbours.shape, np.float32)
        return model
    if name == "category-popularity":
        model = CategoryPopularity(
            item_category=rng.integers(0, 4, N_ITEMS), n_categories=4
        ).fit(history)
        model.item_scores = rng.random(N_ITEMS)
        model.global_scores = rng.random(N_ITEMS)
        return model
    model = RecentPopularity().fit(history)
    model.scores = rng.random(N_ITEMS)
    return model


def contribution(model, bought: int, item: int) -> float:
    if isinstance(model, EASE):
        local = {int(i): n for n, i in enumerate(model.items)}
        if bought not in local or item not in local:
            return 0.0
        return float(model.weights[local[bought], local[item]])
    if isinstance(model, ItemKNN):
        match = np.flatnonzero(model.neighbours[bought] == item)
        return float(model.similarities[bought, match[0]]) if len(match) else 0.0
    return 0.0


def reference_scores(model, history: Interactions, user: int) -> np.ndarray:
    """Score one customer the plain way: loops over their history, float64."""
    mine = history.take(history.user == user)
    x = np.zeros(N_ITEMS)
    for item, weight in zip(mine.item.tolist(), mine.weight.tolist(), strict=True):
        x[item] = max(x[item], weight)
    if isinstance(model, EASE):
        scores = np.full(N_ITEMS, -np.inf)
        scores[model.items] = x[model.items] @ model.weights.astype(np.float64)
        return scores
    if isinstance(model, ItemKNN):  # every interaction counts, repeats too
        scores = np.zeros(N_ITEMS)
        for item, weight in zip(mine.item.tolist(), mine.weight.tolist(), strict=True):
            for other, sim in zip(
                model.neighbours[item], model.similarities[item], strict=True
            ):
                if other >= 0:
                    scores[other] += weight * float(sim)
        return scores
    return np.array(model.score(history, np.array([user])), np.float64)[0]


def reference_rows(model, history, customers, names, popularity, repeat_purchase):
    """Return {(customer, rank): (product, score, reason)}, customer by customer."""
    default = kind_default(model)
    rows = {}
    for user, customer in enumerate(customers):
        mine = history.take(history.user == user)
        bought = mine.take(mine.weight >= 1)
        if len(mine.user) == 0:
            scores = popularity.astype(np.float64)
        else:
            scores = reference_scores(model, history, user)
        if not repeat_purchase:
            scores[bought.item] = -np.inf
        # Most recent purchases first; the same item counts once.
        recent = []
        for position in sorted(
            range(len(bought.item)), key=lambda p: (-bought.day[p], p)
        ):
            item = int(bought.item[position])
            if item not in recent and len(recent) < mlkind.REASON_HISTORY:
                recent.append(item)
        ranking = sorted(range(N_ITEMS), key=lambda i: -scores[i])
        ranked = [i for i in ranking if np.isfinite(scores[i])][: mlkind.TOP_N]
        for rank, item in enumerate(ranked, start=1):
            values = [
                (contribution(model, b, item), -n)
                for n, b in enumerate(recent)
                if b != item
            ]
            best = max(values, default=(0.0, 0))
            if item in set(bought.item.tolist()):  # only where repeats are allowed
                reason = BUY_AGAIN_REASON
            elif best[0] > 0:
                reason = f"Because you bought {names[recent[-best[1]]]}"
            elif len(mine.user) == 0:
                reason = "Popular right now"
            else:
                reason = default
            rows[customer, rank] = (item, float(scores[item]), reason)
    return rows


def kind_default(model) -> str:
    if isinstance(model, CategoryPopularity):
        return "Popular with shoppers like you"
    return "Popular right now"


@pytest.mark.django_db
@pytest.mark.parametrize("repeat_purchase", [False, True])
@pytest.mark.parametrize(
    "name", ["ease", "item-knn", "category-popularity", "popularity"]
)
def test_served_rows_equal_the_per_customer_reference(
    name, repeat_purchase, settings, monkeypatch
):
    settings.SHOP_REPEAT_PURCHASE = repeat_purchase
    monkeypatch.setattr(mlkind, "SCORING_BLOCK", 4)  # several blocks, a short last
    products = [ProductFactory(stock_tracked=False) for _ in range(N_ITEMS)]
    product_ids = np.array([p.pk for p in products], dtype=np.int64)
    names = {i: p.name for i, p in enumerate(products)}
    customers = [
        get_user_model().objects.create_user(f"shopper{i}").pk for i in range(N_USERS)
    ]
    history = shop_history()
    model = fitted(name, history)
    popularity = np.random.default_rng(2).random(N_ITEMS).astype(np.float32)
    served = ServedModel(model, product_ids, {"popularity": popularity})
    monkeypatch.setattr(RecommenderKind, "_history", lambda self, m, keys: history)
    batch = served_batch()

    written = RecommenderKind()._write_for_you(served, customers, batch.pk)

    expected = reference_rows(
        model, history, customers, names, popularity, repeat_purchase
    )
    got = {
        (r.customer_id, r.rank): (r.product_id, r.score, r.reason)
        for r in Recommendation.objects.filter(batch=batch)
    }
    assert written == len(got) == len(expected)
    assert got.keys() == expected.keys()
    for key, (item, score, reason) in expected.items():
        product, served_score, served_reason = got[key]
        assert (product, served_reason) == (int(product_ids[item]), reason), key
        assert served_score == pytest.approx(score, rel=1e-5, abs=1e-6), key
    reasons = {reason for _, _, reason in got.values()}
    if name in ("ease", "item-knn"):
        assert any(r.startswith("Because you bought") for r in reasons)


def test_recent_items_equal_a_loop_over_the_history():
    rng = np.random.default_rng(4)
    user = rng.integers(0, 7, 200)
    item = rng.integers(0, 12, 200)
    day = rng.integers(0, 9, 200).astype(np.float64)  # many equal days
    bought = Interactions(user, item, day, 7, 12)
    expected = np.full((7, 5), -1)
    for u in range(7):
        rows = [p for p in range(200) if user[p] == u]
        rows.sort(key=lambda p: -day[p])  # stable: equal days keep their order
        distinct = list(dict.fromkeys(int(item[p]) for p in rows))[:5]
        expected[u, : len(distinct)] = distinct
    np.testing.assert_array_equal(mlkind._recent_items(bought, 7, 5), expected)


def test_item_knn_contributions_equal_a_scan_of_the_neighbours():
    model = fitted("item-knn", shop_history())
    rng = np.random.default_rng(8)
    history = rng.integers(-1, N_ITEMS, (5, 7))
    items = rng.integers(0, N_ITEMS, (5, 4))
    expected = np.zeros((5, 4, 7))
    for n, r, h in np.ndindex(expected.shape):
        if history[n, h] >= 0:
            expected[n, r, h] = contribution(model, history[n, h], items[n, r])
    np.testing.assert_array_equal(model.contributions(history, items), expected)


def test_fast_top_k_equals_top_k_ties_and_infinities_included():
    rng = np.random.default_rng(6)
    for trial in range(300):
        rows, n, k = rng.integers(1, 20), rng.integers(1, 50), rng.integers(1, 25)
        if trial % 2:
            scores = rng.integers(0, 6, (rows, n)).astype(np.float32)  # many ties
        else:
            scores = rng.normal(size=(rows, n))
        scores[rng.random((rows, n)) < 0.1 * (trial % 3)] = -np.inf
        exclude = rng.random((rows, n)) < 0.3 if trial % 4 else None
        np.testing.assert_array_equal(
            fast_top_k(scores, k, exclude), top_k(scores, k, exclude), str(trial)
        )
