from datetime import date

import numpy as np
import pytest

from forecasting.ml.baselines import (
    ExponentialSmoothing,
    GradientBoosting,
    MovingAverage,
    SeasonalNaive,
)
from forecasting.ml.panel import Panel

WEEKLY_SHAPE = np.array([1.0, 1.0, 1.2, 1.4, 1.6, 2.0, 0.8])


def make_panel(units, horizon=7, price=None, promo=None, stockout=None, category=None):
    units = np.asarray(units, dtype=np.float32)
    n, t = units.shape
    return Panel(
        units=units,
        stockout=np.zeros((n, t), bool) if stockout is None else stockout,
        price=np.full((n, t + horizon), 10.0, np.float32) if price is None else price,
        base_price=np.full((n, t + horizon), 10.0, np.float32),
        promo=np.zeros((n, t + horizon), np.float32) if promo is None else promo,
        category=np.ones(n, np.int32) if category is None else category,
        start=date(2026, 1, 5),
        frequency="D",
        horizon=horizon,
    )


def seasonal_units(n=3, weeks=8, seed=0):
    rng = np.random.default_rng(seed)
    levels = np.array([5.0, 20.0, 50.0])[:n, None]
    return levels * np.tile(WEEKLY_SHAPE, weeks)[None] + rng.normal(
        0, 0.5, (n, 7 * weeks)
    )


def promotion_panel(n=8, t=140, horizon=7, seed=1):
    """Demand 10 (scaled per series) doubled on promotion days at 30% off."""
    rng = np.random.default_rng(seed)
    promo = (rng.random((n, t + horizon)) < 0.25).astype(np.float32)
    promo[:, t:] = [1, 0, 0, 1, 0, 1, 0]
    level = rng.uniform(5, 40, (n, 1))
    demand = level * (1 + promo) * rng.uniform(0.9, 1.1, promo.shape)
    price = np.where(promo > 0, 7.0, 10.0).astype(np.float32)
    panel = make_panel(demand[:, :t], horizon, price=price, promo=promo)
    return panel, demand[:, t:]


def test_seasonal_naive_repeats_the_last_season_exactly():
    units = seasonal_units()
    panel = make_panel(units, horizon=10)
    forecast = SeasonalNaive().fit(panel).predict(panel)
    assert forecast.shape == (3, 10, 3)
    last_week = units[:, -7:]
    np.testing.assert_allclose(forecast[:, :7, 1], last_week, rtol=1e-5)
    np.testing.assert_allclose(forecast[:, 7:, 1], last_week[:, :3], rtol=1e-5)
    assert (forecast[..., 0] < forecast[..., 1]).all()
    assert (forecast[..., 2] > forecast[..., 1]).all()


def test_stockouts_are_censored_not_zero_demand():
    units = np.full((1, 28), 10.0)
    units[0, -3:] = 0.0
    stockout = np.zeros((1, 28), bool)
    stockout[0, -3:] = True
    panel = make_panel(units, stockout=stockout)
    assert MovingAverage(7).predict(panel)[0, :, 1] == pytest.approx(np.full(7, 10.0))
    assert SeasonalNaive().predict(panel)[0, :, 1] == pytest.approx(np.full(7, 10.0))


def test_moving_average_is_the_mean_of_its_window_and_covers_the_spread():
    units = seasonal_units(weeks=10)
    panel = make_panel(units)
    forecast = MovingAverage(7).predict(panel)
    np.testing.assert_allclose(forecast[:, 0, 1], units[:, -7:].mean(axis=1), rtol=1e-5)
    assert MovingAverage(28).name == "moving-average-28"
    width = forecast[:, 0, 2] - forecast[:, 0, 0]
    assert (np.diff(width) > 0).all()  # bigger series, wider band


def test_a_new_product_gets_its_category_level():
    units = np.array([[10.0] * 14, [30.0] * 14, [np.nan] * 14])
    panel = make_panel(units, category=np.array([1, 2, 2], np.int32))
    for forecaster in (SeasonalNaive(), MovingAverage(7), ExponentialSmoothing()):
        assert forecaster.predict(panel)[2, :, 1] == pytest.approx(np.full(7, 30.0))


def test_exponential_smoothing_follows_trend_and_season():
    t = np.arange(70)
    units = (100 + 2 * t + 20 * (t % 7 == 5))[None].astype(float)
    panel = make_panel(units)
    forecast = ExponentialSmoothing().predict(panel)[0]
    future = 100 + 2 * np.arange(70, 77) + 20 * (np.arange(70, 77) % 7 == 5)
    assert np.abs(forecast[:, 1] - future).mean() < 5
    flat = make_panel(np.full((1, 5), 3.0))
    assert ExponentialSmoothing().predict(flat)[0, :, 1] == pytest.approx(
        np.full(7, 3.0)
    )


def test_gradient_boosting_learns_the_promotion_lift_moving_average_cannot():
    panel, future = promotion_panel()
    boosting = GradientBoosting(
        max_iter=40, learning_rate=0.2, min_samples_leaf=10
    ).fit(panel)
    forecast = boosting.predict(panel)
    on_promo = panel.promo[:, panel.n_periods :] > 0
    ratio = forecast[:, :, 1][on_promo].mean() / forecast[:, :, 1][~on_promo].mean()
    scale = future.mean(axis=1, keepdims=True)
    lift = (forecast[:, :, 1] / scale)[on_promo].mean() / (forecast[:, :, 1] / scale)[
        ~on_promo
    ].mean()
    assert lift > 1.6  # the true lift is 2
    assert ratio > 1.3
    average = MovingAverage(28).predict(panel)
    error = np.abs(forecast[..., 1] - future).mean()
    assert error < 0.5 * np.abs(average[..., 1] - future).mean()
    assert (np.diff(forecast, axis=-1) >= 0).all() and (forecast >= 0).all()


def test_forecasters_survive_a_bytes_round_trip():
    panel, _ = promotion_panel(n=4, t=60)
    boosting = GradientBoosting(max_iter=10, min_samples_leaf=5).fit(panel)
    restored = GradientBoosting.from_bytes(boosting.to_bytes())
    np.testing.assert_array_equal(restored.predict(panel), boosting.predict(panel))
    average = MovingAverage.from_bytes(MovingAverage(14).to_bytes())
    assert average.window == 14
    with pytest.raises(ValueError, match="not SeasonalNaive"):
        SeasonalNaive.from_bytes(MovingAverage().to_bytes())


def test_gradient_boosting_reuses_unchanged_rows_with_the_same_numbers():
    from dataclasses import replace

    panel, _ = promotion_panel(n=6, t=60)
    boosting = GradientBoosting(max_iter=10, min_samples_leaf=5).fit(panel)
    fresh = GradientBoosting.from_bytes(boosting.to_bytes())
    promo = panel.promo.copy()
    promo[2, panel.n_periods :] = 0.0  # one series' plan changes
    changed = replace(panel, promo=promo)

    boosting.predict(panel)
    calls = []
    for model in boosting.models:
        model.predict = (lambda m: lambda x: calls.append(len(x)) or m(x))(
            model.predict
        )
    recalled = boosting.predict(changed)

    assert calls == [6, 6, 6]  # the rows of series 2 whose promotions changed
    np.testing.assert_array_equal(recalled, fresh.predict(changed))
    assert "_recent" in fresh.__dict__
    assert "_recent" not in GradientBoosting.from_bytes(fresh.to_bytes()).__dict__


def test_gradient_boosting_median_alone_equals_the_full_forecasts_p50():
    from dataclasses import replace

    panel, _ = promotion_panel(n=6, t=60)
    boosting = GradientBoosting(max_iter=10, min_samples_leaf=5).fit(panel)
    full = GradientBoosting.from_bytes(boosting.to_bytes())
    price = panel.price.copy()
    price[:, panel.n_periods :] *= 1.05
    dearer = replace(panel, price=price)
    calls = []
    for index, model in enumerate(boosting.models):
        model.predict = (lambda m, i: lambda x: calls.append(i) or m(x))(
            model.predict, index
        )

    median = boosting.predict_median(dearer)

    assert calls == [1]  # the median's trees alone
    np.testing.assert_array_equal(median, full.predict(dearer)[..., 1])
    # A full forecast after it does not take the unpredicted quantiles as known.
    np.testing.assert_array_equal(boosting.predict(dearer), full.predict(dearer))
    assert calls == [1, 0, 1, 2]
