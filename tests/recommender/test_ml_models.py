import numpy as np
import pytest

from mlops.ml.device import setup_device
from recommender.ml.als import ALS
from recommender.ml.buy_again import BuyAgain, category_cycles, repeat_shares
from recommender.ml.category_chain import CategoryChain
from recommender.ml.copurchase import BoughtTogether, with_fallback
from recommender.ml.explain import reason_items
from recommender.ml.models import MODELS, load_model
from recommender.ml.neighbours import EASE, ItemKNN, RecentEASE, closed_form
from recommender.ml.popularity import CategoryPopularity, RecentPopularity
from recommender.ml.protocol import Interactions
from recommender.ml.sasrec import SASRec
from recommender.ml.similar import similar_items


def interactions(rows, n_users, n_items, weight=None):
    user, item = (
        np.array(column, dtype=np.int64) for column in zip(*rows, strict=True)
    )
    day = np.arange(len(rows), dtype=np.int64)
    return Interactions(user, item, day, n_users, n_items, weight)


# Users: 0 bought {0, 1}, 1 bought {0, 1, 2}, 2 bought {0, 2}. Column norms: item 0 √3,
# items 1 and 2 √2. Co-occurrence: (0,1)=2, (0,2)=2, (1,2)=1.
THREE = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 0), (2, 2)]


def test_item_knn_cosine_by_hand():
    model = ItemKNN(k=2).fit(interactions(THREE, 3, 3))
    sim = np.zeros((3, 3))
    for i in range(3):
        for j, s in zip(model.neighbours[i], model.similarities[i], strict=True):
            sim[i, j] = s
    expected = np.array(
        [
            [0, 2 / np.sqrt(6), 2 / np.sqrt(6)],
            [2 / np.sqrt(6), 0, 1 / 2],
            [2 / np.sqrt(6), 1 / 2, 0],
        ]
    )
    np.testing.assert_allclose(sim, expected, rtol=1e-6)
    history = interactions([(0, 1)], 1, 3)  # bought item 1 only
    np.testing.assert_allclose(
        model.score(history, np.array([0]))[0], expected[1], rtol=1e-6
    )


def test_item_knn_keeps_k_neighbours_and_repeats_count_once():
    data = interactions(THREE + [(0, 0), (0, 0)], 3, 3)
    model = ItemKNN(k=1).fit(data)
    assert model.neighbours.shape == (3, 1)
    assert model.similarities[1, 0] == pytest.approx(2 / np.sqrt(6))


def test_ease_closed_form_on_a_tiny_matrix():
    x = np.array([[1, 1, 0], [1, 1, 1], [1, 0, 1], [0, 0, 1]], dtype=np.float64)
    rows = [(u, i) for u in range(4) for i in range(3) if x[u, i]]
    model = EASE(l2=2.0).fit(interactions(rows, 4, 3))
    p = np.linalg.inv(x.T @ x + 2.0 * np.eye(3))
    expected = np.eye(3) - p / np.diag(p)[None, :]
    np.testing.assert_allclose(model.weights, expected, atol=1e-6)
    assert np.all(np.diag(model.weights) == 0)
    np.testing.assert_allclose(closed_form(x.T @ x, 2.0), expected, atol=1e-12)
    scores = model.score(interactions(rows, 4, 3), np.array([0, 3]))
    np.testing.assert_allclose(scores, x[[0, 3]] @ expected, atol=1e-5)


def test_ease_scores_unmodelled_items_minus_infinity():
    model = EASE(l2=1.0, max_items=2).fit(interactions(THREE, 3, 4))
    scores = model.score(interactions(THREE, 3, 4), np.array([0]))
    assert np.isneginf(scores[0, 3]) and np.isneginf(scores[0, [1, 2]]).sum() == 1


def chain_data(n_users=160, n_items=12, length=5, seed=0):
    """Every customer buys a run of consecutive items: i is always followed by i + 1."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_items - length, n_users)
    rows = [(u, s + t) for u, s in enumerate(starts) for t in range(length)]
    return interactions(rows, n_users, n_items)


@pytest.mark.parametrize("negatives", [0, 6])  # full softmax, sampled softmax
def test_sasrec_learns_the_next_item(negatives):
    setup_device(seed=3)
    model = SASRec(
        dim=16,
        max_len=8,
        dropout=0.0,
        learning_rate=1e-2,
        epochs=20,
        patience=4,
        negatives=negatives,
    ).fit(chain_data())
    history = interactions([(0, 2), (0, 3), (0, 4)], 1, 12)
    scores = model.score(history, np.array([0]))
    scores[0, [2, 3, 4]] = -np.inf  # history is excluded from rankings
    assert int(np.argmax(scores[0])) == 5
    assert model.item_embeddings().shape == (12, 16)


def test_sasrec_with_side_information_learns_and_round_trips():
    """Item vectors include their category's; a bias per item; bytes restore both."""
    setup_device(seed=3)
    category = np.arange(12) // 4
    model = SASRec(
        dim=16,
        max_len=8,
        dropout=0.0,
        learning_rate=1e-2,
        epochs=20,
        patience=4,
        n_categories=3,
        item_category=category,
        item_bias=True,
    ).fit(chain_data())
    history = interactions([(0, 2), (0, 3), (0, 4)], 1, 12)
    scores = model.score(history, np.array([0]))
    scores[0, [2, 3, 4]] = -np.inf
    assert int(np.argmax(scores[0])) == 5
    restored, _ = load_model(model.to_bytes())
    np.testing.assert_allclose(
        restored.score(history, np.array([0])),
        model.score(history, np.array([0])),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="category"):
        SASRec(n_categories=3).fit(chain_data())


def test_sasrec_weights_reach_the_loss():
    setup_device(seed=3)
    data = chain_data(n_users=40)
    zero = Interactions(
        *(getattr(data, f) for f in ("user", "item", "day")),
        40,
        12,
        np.zeros(len(data.user)),
    )
    model = SASRec(dim=8, max_len=8, epochs=1, patience=1).fit(zero)
    assert model.fit_result.best_val_loss == 0.0


@pytest.fixture(scope="module")
def fitted_models():
    setup_device(seed=1)
    data = chain_data(n_users=60)
    category = np.arange(12) % 3
    return data, [
        RecentPopularity().fit(data),
        CategoryPopularity(item_category=category, n_categories=3).fit(data),
        ItemKNN(k=5).fit(data),
        EASE(l2=5.0, max_items=10).fit(data),
        SASRec(dim=8, max_len=6, epochs=2).fit(data),
        CategoryChain(item_category=category, n_categories=3).fit(data),
        ALS(factors=4, iterations=3, threads=1).fit(data),
        BuyAgain(item_category=category, n_categories=3).fit(data),
        RecentEASE(l2=5.0, half_life_days=2.0).fit(data),
    ]


def test_every_model_round_trips_through_bytes(fitted_models):
    data, models = fitted_models
    assert set(MODELS) == {m.algorithm for m in models}
    users = np.arange(10)
    for model in models:
        loaded, arrays = load_model(model.to_bytes(product_ids=np.arange(12)))
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(arrays["product_ids"], np.arange(12))
        np.testing.assert_allclose(
            loaded.score(data, users), model.score(data, users), rtol=1e-6
        )


def test_bought_together_by_hand():
    # Baskets: {0, 1, 2}, {0, 1}, {0, 3}; item 0 is in 3 baskets, item 1 in 2.
    basket = np.array([10, 10, 10, 11, 11, 12, 12])
    item = np.array([0, 1, 2, 0, 1, 0, 3])
    model = BoughtTogether(k=2, min_support=1).fit(basket, item, 5)
    np.testing.assert_array_equal(model.neighbours[0], [1, 2])  # 2/3, then 1/3 (tie
    np.testing.assert_allclose(model.scores[0], [2 / 3, 1 / 3], rtol=1e-6)  # with 3)
    np.testing.assert_array_equal(model.neighbours[1], [0, 2])
    np.testing.assert_allclose(model.scores[1], [1.0, 0.5], rtol=1e-6)
    np.testing.assert_array_equal(model.neighbours[4], [-1, -1])
    strict = BoughtTogether(k=2, min_support=2).fit(basket, item, 5)
    np.testing.assert_array_equal(strict.neighbours[0], [1, -1])
    np.testing.assert_array_equal(strict.neighbours[2], [-1, -1])


def test_bought_together_is_completed_by_what_the_same_customers_bought():
    # Orders: {0, 1} and singles; customer 7 bought 0 then 2, customer 8 bought 0, 3.
    orders = BoughtTogether(k=3, min_support=1).fit(
        np.array([1, 1, 2, 3, 4]), np.array([0, 1, 0, 2, 3]), 4
    )
    customers = BoughtTogether(k=3, min_support=1).fit(
        np.array([7, 7, 7, 8, 8]), np.array([0, 1, 2, 0, 3]), 4
    )
    neighbours, scores, source = with_fallback(orders, customers, 3)
    np.testing.assert_array_equal(neighbours[0], [1, 2, 3])  # order first, no repeat
    np.testing.assert_array_equal(source[0], [0, 1, 1])
    assert scores[0, 0] == pytest.approx(1 / 2)  # in one of item 0's two orders
    assert scores[0, 1] == pytest.approx(1 / 2)  # one of item 0's two customers
    np.testing.assert_array_equal(neighbours[3], [0, -1, -1])
    np.testing.assert_array_equal(source[3], [1, 0, 0])


def test_similar_items_excludes_self_and_falls_back_for_cold_items():
    embeddings = np.array(
        [[1, 0], [0.9, 0.1], [0, 1], [0, 0], [0.1, 0.9], [1, 0.05]], dtype=np.float32
    )
    category = np.array([0, 0, 1, 0, 1, 0])
    band = np.array([0, 1, 0, 1, 0, 0])
    popularity = np.array([1.0, 5.0, 2.0, 0.0, 1.0, 3.0])
    neighbours, scores = similar_items(
        embeddings, 2, category, band, popularity=popularity
    )
    assert all(i not in row for i, row in enumerate(neighbours))
    np.testing.assert_array_equal(neighbours[0], [5, 1])
    assert scores[0, 0] == pytest.approx(1 / np.sqrt(1.0025))
    assert 3 not in neighbours[[0, 1, 2, 4, 5]]  # a cold item has no learnt vector
    # Item 3 (cold, category 0, band 1): item 1 shares both, then category 0 by
    # popularity (item 5 before item 0).
    np.testing.assert_array_equal(neighbours[3], [1, 5])


def test_reason_items_picks_the_largest_contribution():
    history = np.array([[0, 1, -1], [2, -1, -1]])
    recommended = np.array([[3, 4], [3, 4]])
    vectors = np.array([[1, 0], [0, 1], [-1, 0], [0.9, 0.1], [0.2, 1.0]])
    np.testing.assert_array_equal(
        reason_items(vectors, history, recommended), [[0, 1], [-1, -1]]
    )
    knn = ItemKNN(k=2).fit(interactions(THREE, 3, 3))
    # For item 0, history {1, 2} contribute 2/√6 each (tie: first); item 2: only 1.
    np.testing.assert_array_equal(
        reason_items(knn.contributions, np.array([[1, 2]]), np.array([[0, 2]])),
        [[1, 1]],
    )
    ease = EASE(l2=1.0).fit(interactions(THREE, 3, 3))
    contributions = ease.contributions(np.array([[0, 1]]), np.array([[2]]))
    best = [0, 1][int(np.argmax(ease.weights[[0, 1], 2]))]
    np.testing.assert_array_equal(
        reason_items(ease.contributions, np.array([[0, 1]]), np.array([[2]])), [[best]]
    )
    np.testing.assert_allclose(contributions[0, 0], ease.weights[[0, 1], 2])


def test_ease_sparse_scoring_equals_the_dense_product():
    from recommender.ml.neighbours import EASE, _incidence

    rng = np.random.default_rng(3)
    data = Interactions(
        user=rng.integers(0, 30, 300),
        item=rng.integers(0, 40, 300),
        day=np.zeros(300),
        n_users=31,  # user 30 has no history
        n_items=40,
        weight=rng.choice([0.1, 0.3, 1.0], 300).astype(np.float32),
    )
    model = EASE(l2=10.0).fit(data)
    users = np.arange(31)
    dense = _incidence(data, users)[:, model.items] @ model.weights
    scores = model.score(data, users)
    np.testing.assert_allclose(scores[:, model.items], dense, rtol=1e-4, atol=1e-5)
    assert not scores[30, model.items].any()


def test_als_learns_tastes_and_solves_new_customers_from_their_history():
    # Two tastes: items 0-4 and 5-9; a customer who bought 0 and 1 wants 2-4 next.
    rng = np.random.default_rng(0)
    users, items = [], []
    for user in range(40):
        taste = 5 * (user % 2)
        for item in rng.choice(5, 4, replace=False) + taste:
            users.append(user)
            items.append(item)
    data = Interactions(
        np.array(users), np.array(items), np.arange(len(users), dtype=float), 40, 10
    )
    model = ALS(factors=4, regularization=0.1, iterations=10, threads=1).fit(data)
    newcomer = Interactions(np.array([0, 0]), np.array([0, 1]), np.zeros(2), 1, 10)

    scores = model.score(newcomer, np.array([0]))[0]

    assert scores[2:5].min() > scores[5:].max()


def test_buy_again_ranks_the_due_regular_first_and_measures_repeats():
    # Customer 0 buys item 1 every 7 days and item 2 once; item 3 is popular.
    user = np.array([0, 0, 0, 0, 1, 2, 3])
    item = np.array([1, 1, 1, 2, 3, 3, 3])
    day = np.array([0.0, 7.0, 14.0, 14.0, 14.0, 15.0, 21.0])
    data = Interactions(user, item, day, 4, 5)
    category = np.array([0, 0, 0, 1, 1])
    model = BuyAgain(item_category=category, n_categories=2, new_weight=0.1)
    model.fit(data)

    assert model.cycle[0] == 7.0  # item 1's two repeats, 7 days apart
    assert category_cycles(data, category, 2)[1] == 7.0  # no repeat: overall
    ranked = np.argsort(-model.score(data, np.array([0]))[0])
    assert ranked[:3].tolist() == [1, 2, 3]
    overall, share, lines = repeat_shares(data, category, 2)
    assert overall == 2 / 7 and share.tolist() == [2 / 4, 0.0]
    assert lines.tolist() == [4, 3]


def test_recent_ease_weighs_what_the_customer_bought_last():
    # Items 0 and 1 each go with their own partner (2 and 3) in other histories.
    user = np.array([1, 1, 2, 2, 3, 3, 4, 4, 0, 0])
    item = np.array([0, 2, 0, 2, 1, 3, 1, 3, 0, 1])
    day = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0.0, 10.0])  # customer 0: 0, then 1
    data = Interactions(user, item, day, 5, 4)
    plain = EASE(l2=1.0).fit(data).score(data, np.array([0]))[0]
    recent = RecentEASE(l2=1.0, half_life_days=1.0).fit(data)

    scores = recent.score(data, np.array([0]))[0]

    assert plain[2] == pytest.approx(plain[3])
    assert scores[3] > scores[2]  # what goes with the latest purchase comes first
    assert recent.with_half_life(1e9).score(data, np.array([0]))[0][2] == (
        pytest.approx(plain[2], rel=1e-4)
    )
