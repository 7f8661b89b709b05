"""LightGBM and AutoETS peers, and which combination of the Keras model serves."""

import numpy as np
import pytest

from forecasting.ml.baselines import BoostingFeatures, rolling_std
from forecasting.ml.ensemble import ENSEMBLES, ensemble_report, served_combination
from forecasting.ml.metrics import mase
from forecasting.ml.peers import AutoETS, LightGBMForecaster, _specifications
from tests.forecasting.ml.test_baselines import make_panel, promotion_panel


def test_lightgbm_learns_the_planned_promotions_lift():
    panel, future = promotion_panel(n=8, t=140)
    model = LightGBMForecaster(n_estimators=60, num_leaves=15, min_child_samples=10)
    forecast = model.fit(panel).predict(panel)
    assert forecast.shape == (8, 7, 3)
    assert (forecast[..., 0] <= forecast[..., 1]).all()
    assert (forecast[..., 1] <= forecast[..., 2]).all()
    promoted = panel.promo[:, panel.n_periods :] > 0
    ratio = forecast[..., 1][promoted].mean() / forecast[..., 1][~promoted].mean()
    assert ratio > 1.5  # the planned promotion doubles demand
    assert mase(panel.units, future, forecast, 7) < 0.8


def test_lightgbm_round_trips_through_bytes():
    panel, _ = promotion_panel(n=4, t=70)
    model = LightGBMForecaster(n_estimators=20, min_child_samples=5).fit(panel)
    loaded = LightGBMForecaster.from_bytes(model.to_bytes())
    np.testing.assert_allclose(loaded.predict(panel), model.predict(panel))


def test_auto_ets_picks_a_trend_for_a_trending_series():
    t = np.arange(60, dtype=float)
    rng = np.random.default_rng(0)
    units = np.stack([50 + 2 * t + rng.normal(0, 1, 60), 30 + rng.normal(0, 3, 60)])
    panel = make_panel(units, horizon=5)
    model = AutoETS()
    forecast = model.fit(panel).predict(panel)
    assert forecast[0, :, 1] == pytest.approx(50 + 2 * np.arange(60, 65), rel=0.05)
    assert abs(forecast[1, :, 1].mean() - 30) < 3
    assert sum(model.chosen.values()) == 2
    assert any(key[1] == "A" for key in model.chosen)  # an additive trend chosen


def test_auto_ets_searches_multiplicative_errors_only_for_positive_series():
    assert {s[0] for s in _specifications(np.array([1.0, 2.0]), 7)} == {"add", "mul"}
    assert {s[0] for s in _specifications(np.array([0.0, 2.0]), 7)} == {"add"}
    seasonal = _specifications(np.ones(21), 7)
    assert any(s[2] == "add" for s in seasonal)


def test_rolling_std_is_the_recent_volatility():
    values = np.array([[1.0, 3.0, 1.0, 3.0, np.nan, 5.0]])
    spread = rolling_std(values, 2)
    assert np.isnan(spread[0, 0])
    np.testing.assert_allclose(spread[0, 1:4], [1.0, 1.0, 1.0])
    assert np.isnan(spread[0, 4])  # one value in its window
    panel, _ = promotion_panel(n=2, t=60)
    features = BoostingFeatures(panel)
    assert len(features.means) == len(features.windows) + 4 + 2  # + 2 volatilities


def scores(**mase_by_name):
    return {name: {"mase": value} for name, value in mase_by_name.items()}


def test_an_ensemble_serves_only_where_it_beats_each_member():
    results = scores(
        lstm=1.0,
        **{
            "gradient-boosting": 0.8,
            "lightgbm": 0.9,
            "lstm+gradient-boosting": 0.85,  # loses to gradient boosting
            "lstm+lightgbm": 0.88,
            "lstm+lightgbm+gradient-boosting": 0.79,
        },
    )
    assert served_combination(results) == (
        "lstm+lightgbm+gradient-boosting",
        ENSEMBLES["lstm+lightgbm+gradient-boosting"],
    )
    report = ensemble_report(results)
    assert report["lstm+gradient-boosting"] == {"mase": 0.85, "beats_members": False}
    assert report["lstm+lightgbm"]["beats_members"]


def test_the_keras_model_alone_when_no_ensemble_beats_its_members():
    results = scores(
        lstm=1.0,
        **{
            "gradient-boosting": 0.8,
            "lightgbm": 0.7,
            "lstm+gradient-boosting": 0.85,
            "lstm+lightgbm": 0.75,
            "lstm+lightgbm+gradient-boosting": 0.72,
        },
    )
    assert served_combination(results) == ("lstm", ("lstm",))


def test_auto_ets_reuses_a_series_forecast_when_only_prices_change():
    from dataclasses import replace

    units = np.stack([30 + np.random.default_rng(1).normal(0, 3, 40)] * 2)
    panel = make_panel(units, horizon=4)
    model = AutoETS()
    first = model.predict(panel)
    model.chosen = {}
    cheaper = model.predict(replace(panel, price=panel.price * 0.9))
    np.testing.assert_array_equal(first, cheaper)
    assert model.chosen == {}  # nothing fitted again
    assert "_cache" not in AutoETS.from_bytes(model.to_bytes()).__dict__


def test_tree_models_fit_a_year_of_weekly_history():
    """The year-ago lag is missing throughout: the models still fit and forecast."""
    from dataclasses import replace

    from forecasting.ml.baselines import GradientBoosting

    panel, _ = promotion_panel(n=6, t=44, horizon=7)
    weekly = replace(panel, frequency="W")
    for model in (
        GradientBoosting(max_iter=20, min_samples_leaf=5),
        LightGBMForecaster(n_estimators=20, min_child_samples=5),
    ):
        forecast = model.fit(weekly).predict(weekly)
        assert forecast.shape == (6, 7, 3) and np.isfinite(forecast).all()
