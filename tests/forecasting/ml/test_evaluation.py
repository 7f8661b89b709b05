from datetime import date

import numpy as np
import pytest

from forecasting.ml.baselines import MovingAverage
from forecasting.ml.ensemble import Ensemble, combine
from forecasting.ml.evaluation import rolling_origin
from forecasting.ml.metrics import all_metrics
from forecasting.ml.panel import Panel
from forecasting.ml.price import LastPrice, price_metrics


def make_panel(n=3, t=40, seed=0):
    rng = np.random.default_rng(seed)
    price = rng.choice([8.0, 10.0], (n, t)).astype(np.float32)
    return Panel(
        units=rng.uniform(5, 15, (n, t)).astype(np.float32),
        stockout=np.zeros((n, t), bool),
        price=price,
        base_price=np.full((n, t), 10.0, np.float32),
        promo=(price < 10).astype(np.float32),
        category=np.ones(n, np.int32),
        start=date(2026, 1, 5),
        frequency="D",
        horizon=0,
    )


class Constant:
    """Forecasts a constant and remembers every panel it was given."""

    name = "constant"

    def __init__(self, seen, value=10.0):
        self.seen, self.value = seen, value

    def fit(self, panel):
        self.seen.append(panel)
        return self

    def predict(self, panel):
        return np.full((panel.n_series, panel.horizon, 3), self.value, np.float32)


def test_every_forecaster_gets_the_same_origins_and_never_the_held_back_units():
    panel = make_panel()
    seen = {"a": [], "b": []}
    result = rolling_origin(
        panel,
        {name: (lambda s=s: Constant(s)) for name, s in seen.items()},
        holdout=5,
        origins=3,
    )
    for panels in seen.values():
        assert [p.n_periods for p in panels] == [35, 30, 25]
        for p in panels:
            np.testing.assert_array_equal(p.units, panel.units[:, : p.n_periods])
            end = p.n_periods + 5
            np.testing.assert_array_equal(p.price, panel.price[:, :end])  # as planned
            assert p.planned.all() and p.horizon == 5
    assert result["protocol"] == {
        "holdout_periods": 5,
        "origins": 3,
        "frequency": "D",
        "series": 3,
    }
    assert result["a"] == result["b"]


def test_scores_are_the_metrics_averaged_over_origins():
    panel = make_panel()
    result = rolling_origin(panel, {"c": lambda: Constant([])}, holdout=5, origins=2)
    expected = []
    for cut in (35, 30):
        forecast = np.full((3, 5, 3), 10.0)
        actual = panel.units[:, cut : cut + 5]
        expected.append(all_metrics(panel.units[:, :cut], actual, forecast, 7))
    for metric in ("mase", "rmsse", "pinball", "coverage_p10_p90"):
        assert result["c"][metric] == pytest.approx(
            np.mean([e[metric] for e in expected]), rel=1e-6
        )


def test_held_back_stockouts_are_censored():
    panel = make_panel()
    units, stockout = np.full((3, 40), 10.0, np.float32), np.zeros((3, 40), bool)
    units[:, -2:], stockout[:, -2:] = 0.0, True
    units[:, ::2] = 12.0  # a non-zero naive scale
    censored = Panel(**{**panel.__dict__, "units": units, "stockout": stockout})
    result = rolling_origin(
        censored, {"ma": lambda: MovingAverage(8)}, holdout=4, origins=1
    )
    plain = rolling_origin(
        Panel(**{**censored.__dict__, "stockout": np.zeros((3, 40), bool)}),
        {"ma": lambda: MovingAverage(8)},
        holdout=4,
    )
    assert result["ma"]["mase"] < plain["ma"]["mase"]


def test_price_forecasts_are_judged_without_plans():
    panel = make_panel()
    seen = []
    result = rolling_origin(
        panel,
        {"spy": lambda: Constant(seen, 10.0), "last": LastPrice},
        holdout=4,
        metrics_fn=price_metrics,
        target="price",
        plans=False,
    )
    assert not seen[0].planned.any()
    assert (seen[0].price[:, 36:] == 10.0).all()  # the last list price, not the plan
    history, actual = panel.price[:, :36], panel.price[:, 36:]
    expected = price_metrics(history, actual, np.full((3, 4, 3), 10.0))
    assert result["spy"]["mase"] == pytest.approx(expected["mase"], rel=1e-6)
    assert set(result["last"]) == {"mase", "pinball", "coverage_p10_p90"}


def test_too_many_origins_is_an_error():
    with pytest.raises(ValueError, match="need more history"):
        rolling_origin(make_panel(t=12), {"c": lambda: Constant([])}, 5, origins=3)


def test_ensembles_are_scored_from_their_members_forecasts():
    class Constant:
        def __init__(self, value):
            self.value, self.name = value, f"constant-{value}"

        def fit(self, panel):
            return self

        def predict(self, panel):
            return np.full((panel.n_series, panel.horizon, 3), self.value, float)

    panel = _ensemble_panel()
    result = rolling_origin(
        panel,
        {"low": lambda: Constant(2.0), "high": lambda: Constant(6.0)},
        holdout=4,
        ensembles={"both": ("low", "high")},
    )
    assert result["both"]["mase"] == 0.0  # the actuals are 4: (2 + 6) / 2
    assert result["low"]["mase"] > 0
    members = [Constant(1.0), Constant(3.0)]
    assert np.allclose(Ensemble(members).predict(panel.split(4)[0]), 2.0)
    assert np.allclose(combine([np.ones((1, 1, 3)), 3 * np.ones((1, 1, 3))]), 2.0)


def _ensemble_panel():
    n, t = 2, 20
    units = np.tile(np.array([1.0, 7.0] * 8 + [4.0] * 4, np.float32), (n, 1))
    ones = np.ones((n, t), np.float32)
    return Panel(
        units=units,
        stockout=np.zeros((n, t), bool),
        price=ones,
        base_price=ones,
        promo=0 * ones,
        category=np.ones(n, np.int32),
        start=date(2025, 1, 6),
        frequency="W",
        horizon=0,
    )


def test_ensemble_reuses_a_members_forecast_across_calendars():
    calls = []

    class Counting:
        name = "counting"

        def predict(self, panel):
            calls.append(panel)
            return np.ones((panel.n_series, panel.horizon, 3))

    class Seasonal:
        name = "seasonal"

        def predict(self, panel, *, calendar=None):
            value = 3.0 if calendar is None else float(calendar[-1, 0])
            return np.full((panel.n_series, panel.horizon, 3), value)

    panel = _ensemble_panel().split(4)[0]
    ensemble = Ensemble([Counting(), Seasonal()])
    calendar = panel.calendar()
    for shift in range(3):
        forecast = ensemble.predict(panel, calendar=calendar + shift)
        assert np.allclose(forecast, (1 + calendar[-1, 0] + shift) / 2)
    assert len(calls) == 1
    ensemble.predict(_ensemble_panel().split(4)[0])  # another panel: forecast again
    assert len(calls) == 2
