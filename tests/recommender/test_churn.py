"""Churn features, labels, the logistic model and the metrics on tiny data."""

import numpy as np
import pytest

from recommender.ml.churn import (
    ChurnModel,
    Purchases,
    adaptive_horizon,
    auc,
    brier,
    churn_features,
    churn_labels,
    churn_metrics,
    log_loss,
    recency_quantiles,
    recency_rank,
    rfm_values,
)


def purchases(rows, n_customers):
    """rows: (customer, order, day, amount, category)."""
    c, o, d, a, k = (np.array(col) for col in zip(*rows, strict=True))
    return Purchases(c, o, d, a.astype(float), k, n_customers)


SHOP = purchases(
    [
        (0, 1, 0, 10.0, 1),
        (0, 1, 0, 5.0, 2),  # second line of order 1
        (0, 2, 10, 20.0, 1),
        (0, 3, 30, 30.0, 3),
        (1, 4, 5, 100.0, 1),
        (2, 5, 40, 7.0, 2),
    ],
    n_customers=4,
)


def test_rfm_values_count_orders_not_lines():
    values = rfm_values(SHOP, as_of=20)
    assert values.frequency.tolist() == [2, 1, 0, 0]
    assert values.monetary.tolist() == [35.0, 100.0, 0.0, 0.0]
    assert values.recency_days.tolist() == [10, 15, 0, 0]


def test_labels_look_only_inside_the_horizon():
    assert churn_labels(SHOP, cutoff=20, horizon=15).tolist() == [
        False,
        True,
        True,
        True,
    ]


def test_features_as_of_cutoff_use_no_later_purchase():
    features, has = churn_features(SHOP, cutoff=20, horizon=15)
    assert has.tolist() == [True, True, False, False]
    assert features[0, 0] == pytest.approx(np.log1p(10))  # recency
    assert features[0, 3] == pytest.approx(np.log1p(10))  # mean gap
    assert features[0, 2] == pytest.approx(np.log1p(35 / 2))  # order value
    assert features[0, 9] == pytest.approx(np.log1p(2))  # categories 1 and 2
    assert features[1, 10] == 1.0  # single purchase
    assert not features[2:].any()


def test_adaptive_horizon_is_twice_the_median_gap_within_bounds():
    assert adaptive_horizon(SHOP) == 30  # gaps 10 and 20: median 15
    assert adaptive_horizon(SHOP, low=40) == 40


def test_metrics_by_hand():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.4, 0.4])
    assert auc(y, p) == pytest.approx(0.875)  # one tie among four pairs
    assert brier(y, p) == pytest.approx((0.01 + 0.04 + 0.36 + 0.16) / 4)
    assert log_loss(y, np.full(4, 0.5)) == pytest.approx(np.log(2))
    assert churn_metrics(y, p, 0.5)["coverage"] == 0.5
    assert auc(np.ones(3), np.arange(3)) == 0.5


def test_logistic_model_learns_a_separable_signal_and_round_trips():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(float)
    model = ChurnModel(l2=1.0).fit(x, y)
    p = model.predict_proba(x)
    assert auc(y, p) > 0.95
    assert abs(p.mean() - y.mean()) < 0.05  # calibrated in the large
    again = ChurnModel.from_arrays(model.to_arrays())
    assert np.allclose(again.predict_proba(x), p)


def test_recency_rank_is_the_position_among_fitted_recencies():
    quantiles = recency_quantiles(np.array([0, 10, 20, 30, 40]), points=5)
    assert recency_rank(np.array([0, 20, 40, 99]), quantiles).tolist() == [
        0.0,
        0.5,
        1.0,
        1.0,
    ]


def test_features_before_any_purchase_are_empty_not_an_error():
    from recommender.ml.churn import Purchases

    purchases = Purchases(
        customer=np.array([0, 1]),
        order=np.array([1, 2]),
        day=np.array([50, 60]),
        amount=np.array([5.0, 7.0]),
        category=np.array([0, 0]),
        n_customers=2,
    )
    features, has_history = churn_features(purchases, cutoff=10, horizon=30)
    assert features.shape[0] == 2 and not has_history.any()
