from datetime import date

import numpy as np
import pytest

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
