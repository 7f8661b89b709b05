from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from forecasting.ml.demand import DemandConfig, DemandForecaster
from forecasting.ml.panel import Panel

HORIZON = 14
TINY = DemandConfig(
    lookback=28, hidden=16, epochs=8, patience=3, batch_size=128, max_windows=2000
)
CATEGORY_LEVELS = {1: 2.0, 2: 8.0, 3: 30.0}


def make_panel(
    n_series=24, days=150, *, seed=0, elasticity=-2.0, lift=0.8, stockout_share=0.0
):
    """Daily series with a weekly pattern that answer to price and promotion."""
    rng = np.random.default_rng(seed)
    total = days + HORIZON
    t = np.arange(total)
    category = np.arange(n_series) % 3 + 1
    level = np.array([CATEGORY_LEVELS[c] for c in category])
    level = level * rng.uniform(0.8, 1.2, n_series)
    weekly = 1 + 0.3 * np.sin(2 * np.pi * t / 7)
    base = np.full((n_series, total), 10.0, np.float32)
    price, promo = base.copy(), np.zeros((n_series, total), np.float32)
    for i in range(n_series):
        for begin in rng.choice(total - 5, size=total // 15, replace=False):
            if rng.random() < 0.5:
                promo[i, begin : begin + 4] = 1.0
            else:
                price[i, begin : begin + 4] *= rng.uniform(0.7, 1.2)
    demand = level[:, None] * weekly * (price / base) ** elasticity * (1 + lift * promo)
    units = rng.poisson(demand).astype(np.float32)[:, :days]
    stockout = np.zeros((n_series, days), bool)
    if stockout_share:
        for i in range(n_series):
            for begin in range(0, days - 7, 10):
                if rng.random() < stockout_share * 10 / 5:
                    stockout[i, begin : begin + 5] = True
        units[stockout] = 0.0
    return Panel(
        units=units,
        stockout=stockout,
        price=price,
        base_price=base,
        promo=promo,
        category=category.astype(np.int32),
        start=date(2025, 1, 6),
        frequency="D",
        horizon=HORIZON,
    )


def with_future(panel, *, price_factor=1.0, promo=0.0):
    """The panel without plans, then every future period at a price and promotion."""
    plain = panel.without_plans()
    t = panel.n_periods
    price, promotion = plain.price.copy(), plain.promo.copy()
    price[:, t:] *= price_factor
    promotion[:, t:] = promo
    return replace(plain, price=price, promo=promotion)


@pytest.fixture(scope="module")
def panel():
    return make_panel()


@pytest.fixture(scope="module")
def reports():
    return {"progress": [], "log": []}


@pytest.fixture(scope="module")
def forecaster(panel, reports):
    return DemandForecaster(
        TINY,
        seed=0,
        progress=lambda fraction, message: reports["progress"].append(fraction),
        log=reports["log"].append,
    ).fit(panel)


def test_forecasts_are_monotone_non_negative_quantiles(forecaster, panel):
    forecast = forecaster.predict(panel)

    assert forecast.shape == (panel.n_series, HORIZON, 3)
    assert np.isfinite(forecast).all()
    assert (forecast >= 0).all()
    assert (np.diff(forecast, axis=-1) >= 0).all()


def test_forecast_follows_each_category_level(forecaster, panel):
    p50 = forecaster.predict(panel)[..., 1].mean(axis=1)

    for category, level in CATEGORY_LEVELS.items():
        mean = p50[panel.category == category].mean()
        assert 0.6 * level < mean < 1.5 * level


def test_a_price_cut_and_a_promotion_raise_the_forecast(forecaster, panel):
    usual = forecaster.predict(with_future(panel))[..., 1].sum()
    cut = forecaster.predict(with_future(panel, price_factor=0.8))[..., 1].sum()
    promoted = forecaster.predict(with_future(panel, promo=1.0))[..., 1].sum()

    assert cut > 1.15 * usual
    assert promoted > 1.2 * usual


def test_stock_outs_are_censored_not_zero_demand():
    censored = make_panel(seed=1, stockout_share=0.3)
    assert censored.stockout.mean() > 0.2
    as_zeros = replace(censored, stockout=np.zeros_like(censored.stockout))

    flagged = DemandForecaster(TINY, seed=0).fit(censored).predict(censored)
    naive = DemandForecaster(TINY, seed=0).fit(as_zeros).predict(as_zeros)

    assert flagged[..., 1].sum() > 1.15 * naive[..., 1].sum()


def test_a_brand_new_product_is_forecast_from_its_category(forecaster, panel):
    units = panel.units.copy()
    units[[0, 2]] = np.nan  # series 0 is in category 1, series 2 in category 3
    new = replace(panel, units=units).select(np.array([0, 2]))

    p50 = forecaster.predict(new)[..., 1].mean(axis=1)

    assert 0.4 * CATEGORY_LEVELS[1] < p50[0] < 2.0 * CATEGORY_LEVELS[1]
    assert 0.5 * CATEGORY_LEVELS[3] < p50[1] < 2.0 * CATEGORY_LEVELS[3]


def test_intermittent_series_get_zero_low_quantiles():
    rng = np.random.default_rng(3)
    panel = make_panel(seed=3)
    sparse = (rng.random(panel.units.shape) < 0.15).astype(np.float32)
    intermittent = replace(panel, units=sparse)

    forecast = DemandForecaster(TINY, seed=0).fit(intermittent).predict(intermittent)

    # A sale on 15 % of days: P10 and P50 are zero, P90 is one unit.
    assert (forecast[..., 0] == 0).mean() > 0.9
    assert np.median(forecast[..., 1]) < 0.2
    assert 0.5 < np.median(forecast[..., 2]) < 1.6


def test_bytes_round_trip_gives_identical_forecasts(forecaster, panel):
    restored = DemandForecaster.from_bytes(forecaster.to_bytes())

    np.testing.assert_array_equal(restored.predict(panel), forecaster.predict(panel))
    assert restored.hyperparameters() == forecaster.hyperparameters()


def test_hyperparameters_report_config_and_training(forecaster):
    params = forecaster.hyperparameters()

    assert params["hidden"] == 16 and params["lookback"] == 28
    assert 1 <= params["best_epoch"] <= params["epochs_run"] <= 8


def test_a_longer_horizon_than_trained_is_refused(forecaster, panel):
    longer = make_panel(days=150)
    longer = replace(
        longer,
        horizon=HORIZON + 7,
        price=np.pad(longer.price, ((0, 0), (0, 7)), mode="edge"),
        base_price=np.pad(longer.base_price, ((0, 0), (0, 7)), mode="edge"),
        promo=np.pad(longer.promo, ((0, 0), (0, 7))),
        planned=None,
    )

    with pytest.raises(ValueError, match="forecasts 14 periods"):
        forecaster.predict(longer)


def test_progress_and_log_are_reported(forecaster, reports):
    assert reports["progress"] and reports["progress"][-1] == 1.0
    assert any("windows" in message for message in reports["log"])


def test_weekly_panels_use_the_year_calendar_and_their_own_lookback():
    rng = np.random.default_rng(4)
    n, weeks, horizon = 12, 80, 8
    price = np.full((n, weeks + horizon), 3.0, np.float32)
    promo = (rng.random((n, weeks + horizon)) < 0.15).astype(np.float32)
    units = rng.poisson(20 * (1 + promo[:, :weeks])).astype(np.float32)
    weekly = Panel(
        units=units,
        stockout=np.zeros((n, weeks), bool),
        price=price,
        base_price=price.copy(),
        promo=promo,
        category=np.ones(n, np.int32),
        start=date(2020, 1, 6),
        frequency="W",
        horizon=horizon,
    )

    forecaster = DemandForecaster(replace(TINY, lookback=0), seed=0).fit(weekly)
    forecast = forecaster.predict(weekly)

    assert forecaster.hyperparameters()["lookback"] == 26
    assert forecast.shape == (n, horizon, 3)
    assert 10 < np.median(forecast[..., 1]) < 40
