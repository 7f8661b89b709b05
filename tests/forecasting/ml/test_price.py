from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from forecasting.ml.evaluation import rolling_origin
from forecasting.ml.panel import Panel
from forecasting.ml.price import LastPrice, PriceForecaster, price_metrics


def price_panel(price, base, horizon=8, planned=None):
    price = np.asarray(price, np.float32)
    n, total = price.shape
    t = total - horizon
    return Panel(
        units=np.ones((n, t), np.float32),
        stockout=np.zeros((n, t), bool),
        price=price,
        base_price=np.broadcast_to(np.float32(base), price.shape).copy(),
        promo=(price < base).astype(np.float32),
        category=np.ones(n, np.int32),
        start=date(2026, 1, 5),
        frequency="D",
        horizon=horizon,
        planned=planned,
    )


def test_planned_prices_are_forecast_exactly():
    price = np.full((2, 48), 10.0)
    price[:, -8:] = [8.5, 8.5, 10, 10, 9, 9, 9, 10]
    planned = np.zeros((2, 8), bool)
    planned[0] = True
    panel = price_panel(price, 10.0, planned=planned)
    forecast = PriceForecaster().predict(panel)
    np.testing.assert_allclose(forecast[0], np.repeat(price[0, -8:, None], 3, 1))
    assert forecast[1, :, 1] == pytest.approx(np.full(8, 10.0))  # nothing planned
    assert PriceForecaster().predict(panel.without_plans())[0, :, 1] == pytest.approx(
        np.full(8, 10.0)
    )


def test_a_recurring_promotion_comes_back_on_schedule_at_its_depth():
    days = np.arange(88)
    price = np.where(days % 4 == 0, 8.0, 10.0)[None]  # 20% off every fourth day
    panel = price_panel(price, 10.0).without_plans()
    forecast = PriceForecaster().predict(panel)[0]
    expected = np.where(days[-8:] % 4 == 0, 8.0, 10.0)
    np.testing.assert_allclose(forecast[:, 1], expected)
    last = LastPrice().predict(panel)[0]
    assert last[:, 1] == pytest.approx(np.full(8, 10.0))  # day 79 was at list price


def test_random_promotions_show_their_depth_in_the_low_quantile():
    rng = np.random.default_rng(3)
    price = np.where(rng.random((1, 208)) < 0.3, 7.5, 10.0)
    panel = price_panel(price, 10.0).without_plans()
    forecast = PriceForecaster().predict(panel)[0]
    assert forecast[:, 0] == pytest.approx(np.full(8, 7.5))
    assert forecast[:, 1] == pytest.approx(np.full(8, 10.0))
    assert forecast[:, 2] == pytest.approx(np.full(8, 10.0))


def test_a_rising_list_price_widens_the_band_upwards():
    base = np.repeat(np.arange(10.0, 16.0), 10)[None]  # +1 every 10 periods
    panel = price_panel(base, base)
    forecast = PriceForecaster().predict(panel.without_plans())[0]
    assert forecast[-1, 2] > 15.0 and forecast[0, 1] == pytest.approx(15.0)
    assert (np.diff(forecast, axis=-1) >= 0).all()


def test_last_price_round_trip_and_metrics_by_hand():
    price = np.array([[10.0, 11.0, 10.0, 12.0, 12.0, 10.0]])
    panel = price_panel(price, 12.0, horizon=2)
    forecast = LastPrice.from_bytes(LastPrice().to_bytes()).predict(panel)
    assert forecast[0, :, 1] == pytest.approx([12.0, 12.0])
    assert forecast[0, 0, 0] < 12.0 and (forecast[0, :, 2] > 12.0).all()
    history, actual = panel.price[:, :4], price[:, 4:]  # naive errors 1, 1, 2
    scores = price_metrics(history, actual, forecast)
    assert scores["mase"] == pytest.approx(0.75)  # errors 0, 2 over a scale of 4/3
    assert set(scores) == {"mase", "pinball", "coverage_p10_p90"}


def competitor_led_panel(*, n=24, periods=120, horizon=8, lag=4, seed=0) -> Panel:
    """Competitors move now and then; each shop follows `lag` periods later at its
    usual 5% premium. No shop price is known beyond the history."""
    rng = np.random.default_rng(seed)
    total = periods + lag
    moves = rng.random((n, total)) < 0.1
    rival = 10 * np.exp(np.cumsum(moves * rng.normal(0, 0.08, (n, total)), axis=1))
    shop = np.round(1.05 * rival[:, :-lag], 2)
    future = np.full((n, horizon), np.nan)
    panel = price_panel(
        np.concatenate([shop, np.repeat(shop[:, -1:], horizon, 1)], axis=1),
        1.0,
        horizon=horizon,
    )
    return replace(
        panel,
        base_price=panel.price.copy(),
        promo=np.zeros_like(panel.promo),
        competitor_price=np.concatenate([rival[:, lag:], future], 1).astype(np.float32),
    )


def price_scores(panel: Panel) -> dict:
    factories = {
        "with": PriceForecaster,
        "without": lambda: PriceForecaster(use_competitor=False),
        "last": LastPrice,
    }
    return rolling_origin(
        panel,
        factories,
        holdout=8,
        origins=2,
        target="price",
        plans=False,
        metrics_fn=price_metrics,
    )


def test_competitor_moves_that_lead_the_price_are_followed():
    scores = price_scores(competitor_led_panel())

    assert scores["with"]["mase"] < 0.6 * scores["without"]["mase"]
    assert scores["with"]["mase"] < 0.6 * scores["last"]["mase"]
    assert scores["with"]["pinball"] < scores["without"]["pinball"]


def test_an_unrelated_competitor_price_is_not_followed():
    panel = competitor_led_panel(seed=1)
    other = competitor_led_panel(seed=2).competitor_price
    scores = price_scores(replace(panel, competitor_price=other))

    assert scores["with"]["mase"] <= 1.02 * scores["without"]["mase"]


def test_no_price_path_goes_below_the_cost():
    rng = np.random.default_rng(3)
    price = np.where(rng.random((2, 208)) < 0.3, 7.0, 10.0)
    cost = np.full(price.shape, np.nan, np.float32)
    cost[0, :100] = 8.0  # the last known cost holds
    panel = replace(price_panel(price, 10.0), cost=cost).without_plans()

    forecast = PriceForecaster().predict(panel)

    assert forecast[0, :, 0] == pytest.approx(np.full(8, 8.0))  # floored at cost
    assert forecast[1, :, 0] == pytest.approx(np.full(8, 7.0))  # cost unknown
    unfloored = PriceForecaster(use_cost=False).predict(panel)
    assert unfloored[0, :, 0] == pytest.approx(np.full(8, 7.0))


def test_a_planned_cost_floors_its_period_and_plans_are_kept_exact():
    price = np.full((1, 48), 10.0)
    price[0, -1] = 6.0  # a planned clearance below cost is the shop's plan
    cost = np.full(price.shape, 5.0, np.float32)
    cost[0, -4:] = 11.0  # cost goes up in the last four future periods
    planned = np.zeros((1, 8), bool)
    planned[0, -1] = True
    panel = replace(price_panel(price, 10.0, planned=planned), cost=cost)

    forecast = PriceForecaster().predict(panel)[0]

    assert forecast[:4, 1] == pytest.approx(np.full(4, 10.0))
    assert forecast[4:7, 1] == pytest.approx(np.full(3, 11.0))
    assert forecast[7] == pytest.approx([6.0, 6.0, 6.0])


def test_panel_cuts_carry_cost_and_competitor_prices():
    price = np.full((3, 48), 10.0)
    extra = np.arange(3 * 48, dtype=np.float32).reshape(3, 48)
    panel = replace(price_panel(price, 10.0), cost=extra, competitor_price=extra + 1)

    train, _ = panel.split(4)
    assert train.cost.shape == (3, 40) and train.competitor_price[0, -1] == 40.0
    assert np.isnan(train.without_plans().cost[:, 36:]).all()
    assert train.without_plans().cost[0, 35] == 35.0
    assert panel.select(np.array([2])).competitor_price[0, 0] == 97.0
    with pytest.raises(ValueError, match="cost must cover"):
        replace(panel, cost=extra[:, :40])
