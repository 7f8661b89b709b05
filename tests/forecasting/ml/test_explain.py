from dataclasses import replace

import numpy as np
import pytest

from forecasting.ml.demand import DemandForecaster
from forecasting.ml.explain import elasticities, explain
from tests.forecasting.ml.test_demand import TINY, make_panel


def planned(panel, *, promo_rows=(), cut_rows=()):
    """The panel without plans, then a promotion or a 20 % price cut on some rows."""
    plain = panel.without_plans()
    t = panel.n_periods
    price, promo = plain.price.copy(), plain.promo.copy()
    promo[list(promo_rows), t:] = 1.0
    price[list(cut_rows), t:] *= 0.8
    return replace(plain, price=price, promo=promo)


@pytest.fixture(scope="module")
def panel():
    return make_panel(seed=5, elasticity=-2.0, lift=1.0)


@pytest.fixture(scope="module")
def forecaster(panel):
    return DemandForecaster(TINY, seed=0).fit(panel)


def test_breakdown_adds_up_to_the_forecast(forecaster, panel):
    future = planned(panel, promo_rows=[0, 1, 2], cut_rows=[3, 4, 5])

    explanations = explain(forecaster, future)

    expected = forecaster.predict(future)[..., 1].sum(axis=1)
    assert len(explanations) == panel.n_series
    for explanation, total in zip(explanations, expected, strict=True):
        parts = explanation.breakdown
        assert set(parts) == {"base", "price", "promotion", "season", "trend"}
        assert explanation.expected == pytest.approx(total)
        assert explanation.low <= explanation.expected <= explanation.high
        assert sum(parts.values()) == pytest.approx(total, rel=1e-4, abs=1e-3)
        assert parts["base"] >= 0


def test_a_planned_promotion_is_named_with_what_it_adds(forecaster, panel):
    explanations = explain(forecaster, planned(panel, promo_rows=[0, 1, 2]))

    for promoted in explanations[:3]:
        assert promoted.breakdown["promotion"] > 0.2 * promoted.expected
        assert "the planned promotion adds about" in promoted.sentence
        assert promoted.sentence.startswith("Expected ")
        assert "than the last 14 days" in promoted.sentence
    plain = explanations[6]
    assert "planned promotion" not in plain.sentence
    assert "the price is at its usual level" in plain.sentence
    assert abs(plain.breakdown["promotion"]) < 0.05 * plain.expected


def test_a_price_cut_is_named_with_what_it_adds(forecaster, panel):
    explanation = explain(forecaster, planned(panel, cut_rows=[3]))[3]

    assert explanation.breakdown["price"] > 0.15 * explanation.expected
    assert "the price 20% below usual adds about" in explanation.sentence


def test_elasticities_are_negative_where_demand_falls_with_price(forecaster, panel):
    values, level = elasticities(
        forecaster, panel.without_plans(), min_price_variation=0.005
    )

    assert len(values) == len(level) == panel.n_series
    assert set(level) == {"product"}
    assert np.all(values < -0.5)
    assert -3.5 < np.median(values) < -1.0


def test_thin_price_history_falls_back_on_the_category_median(forecaster, panel):
    price = panel.price.copy()
    price[0] = panel.base_price[0]  # series 0 never changed price
    values, level = elasticities(forecaster, replace(panel, price=price))

    assert level[0] == "category" and level[1] == "product"
    others = values[(panel.category == panel.category[0]) & (np.arange(24) > 0)]
    assert values[0] == pytest.approx(np.median(others))


def test_the_ensembles_median_alone_equals_its_full_forecasts_p50(forecaster, panel):
    from forecasting.ml.baselines import GradientBoosting
    from forecasting.ml.ensemble import Ensemble
    from forecasting.ml.explain import _flat_calendars

    boosting = GradientBoosting(max_iter=10, min_samples_leaf=5).fit(panel)
    ensemble = Ensemble([forecaster, boosting])
    future = planned(panel, promo_rows=[0, 1], cut_rows=[2, 3])
    calendar = _flat_calendars(future)[0]

    for kwargs in ({}, {"calendar": calendar}):
        np.testing.assert_array_equal(
            ensemble.predict_median(future, **kwargs),
            ensemble.predict(future, **kwargs)[..., 1],
        )
