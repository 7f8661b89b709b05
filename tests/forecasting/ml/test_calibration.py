from datetime import date

import numpy as np
import pytest

from forecasting.ml.baselines import MovingAverage
from forecasting.ml.calibration import (
    MAX_SCALE,
    MIN_SCALE,
    Calibrated,
    IntervalScale,
    fit_scale,
)
from forecasting.ml.evaluation import rolling_origin
from forecasting.ml.metrics import coverage
from forecasting.ml.panel import Panel

Z90 = 1.2816  # the 90th percentile of a standard normal


def wide_forecast(n, h, mean=10.0, sd=2.0, widen=2.0):
    """P50 right, P10/P90 `widen` times too far from it for N(mean, sd) demand."""
    forecast = np.empty((n, h, 3))
    forecast[..., 0] = mean - widen * Z90 * sd
    forecast[..., 1] = mean
    forecast[..., 2] = mean + widen * Z90 * sd
    return forecast


def test_too_wide_bands_are_narrowed_to_about_80_percent_on_fresh_data():
    rng = np.random.default_rng(0)
    forecast = wide_forecast(50, 28)
    calibration_actual = rng.normal(10, 2, (50, 28))
    fresh_actual = rng.normal(10, 2, (50, 28))
    assert coverage(fresh_actual, forecast) > 0.95  # the raw band over-covers

    scale = fit_scale(forecast, calibration_actual)
    calibrated = scale.apply(forecast)

    assert scale.lower == pytest.approx(0.5, abs=0.05)
    assert scale.upper == pytest.approx(0.5, abs=0.05)
    assert coverage(fresh_actual, calibrated) == pytest.approx(0.8, abs=0.03)
    np.testing.assert_array_equal(calibrated[..., 1], forecast[..., 1])  # P50 kept


def test_too_narrow_bands_are_widened_and_censored_periods_are_left_out():
    rng = np.random.default_rng(1)
    forecast = wide_forecast(200, 20, widen=0.5)
    actual = rng.normal(10, 2, (200, 20))
    censored = np.zeros(actual.shape, bool)
    censored[:, :5] = True
    actual[:, :5] = 1000.0  # stock-out periods: never scored, never calibrate
    scale = fit_scale(forecast, actual, censored)
    assert scale.upper == pytest.approx(2.0, abs=0.2)
    fresh = rng.normal(10, 2, (200, 20))
    assert coverage(fresh, scale.apply(forecast)) == pytest.approx(0.8, abs=0.04)


def test_mostly_zero_integer_sales_do_not_collapse_the_band():
    rng = np.random.default_rng(2)
    actual = (rng.random((100, 28)) < 0.06).astype(float)  # 94 % zeros
    forecast = np.zeros((100, 28, 3))
    forecast[..., 1] = 0.05
    forecast[..., 2] = 0.8  # the ones are out already, the zeros in at any scale
    scale = fit_scale(forecast, actual)
    # the bare rule would put P90 on P50, and no scale brings coverage nearer 80 %
    assert scale.is_identity
    forecast[..., 2] = 1.0  # here a narrower band does leave the ones out
    assert fit_scale(forecast, actual).upper == MIN_SCALE


def test_scales_stay_within_bounds():
    forecast = wide_forecast(50, 20, widen=5.0)
    actual = np.random.default_rng(3).normal(10, 2, (50, 20))
    assert fit_scale(forecast, actual).upper == MIN_SCALE
    assert fit_scale(wide_forecast(50, 20, widen=0.2), actual).upper == MAX_SCALE


def test_too_few_points_leave_the_band_alone():
    assert fit_scale(wide_forecast(2, 5), np.full((2, 5), 10.0)).is_identity


def make_panel(n=30, t=60, seed=0, last=None):
    rng = np.random.default_rng(seed)
    units = rng.normal(20, 3, (n, t)).astype(np.float32)
    if last is not None:
        units[:, -5:] = last
    ones = np.ones((n, t), np.float32)
    return Panel(
        units=units,
        stockout=np.zeros((n, t), bool),
        price=ones,
        base_price=ones,
        promo=0 * ones,
        category=np.ones(n, np.int32),
        start=date(2026, 1, 5),
        frequency="D",
        horizon=0,
    )


class Wide:
    """A constant forecast with a band twice as wide as the data's."""

    name = "wide"

    def __init__(self, seen=None):
        self.seen = seen if seen is not None else []

    def fit(self, panel):
        self.seen.append(panel.n_periods)
        return self

    def predict(self, panel):
        return wide_forecast(panel.n_series, panel.horizon, mean=20.0, sd=3.0)


def test_rolling_origin_fits_the_holdout_scale_on_an_earlier_origin_only():
    seen = []
    result = rolling_origin(
        make_panel(), {"wide": lambda: Wide(seen)}, holdout=5, calibrate=True
    )
    assert seen == [55, 50]  # the scored origin, then the calibration origin
    report = result["calibration"]["report"]["wide"]
    assert report["coverage_before"] > 0.95
    assert report["coverage_after"] == pytest.approx(0.8, abs=0.1)
    assert report["pinball_after"] < report["pinball_before"]
    assert result["wide"]["coverage_p10_p90"] == pytest.approx(
        report["coverage_after"], abs=1e-4
    )

    # the held-back periods themselves change: the scale applied to them does not,
    # only the scale fitted for serving (those periods are history by then)
    moved = rolling_origin(
        make_panel(last=35.0), {"wide": Wide}, holdout=5, calibrate=True
    )
    moved_report = moved["calibration"]["report"]["wide"]
    assert moved_report["holdout_scale"] == report["holdout_scale"]
    assert moved_report["served_scale"] != report["served_scale"]


def test_calibration_leaves_the_point_metrics_alone():
    panel = make_panel()
    plain = rolling_origin(panel, {"wide": Wide}, holdout=5)
    calibrated = rolling_origin(panel, {"wide": Wide}, holdout=5, calibrate=True)
    for metric in ("mase", "rmsse"):
        assert calibrated["wide"][metric] == plain["wide"][metric]
    assert "calibration" not in plain


def test_without_history_for_a_calibration_origin_the_bands_stay():
    result = rolling_origin(make_panel(t=12), {"wide": Wide}, holdout=5, calibrate=True)
    assert result["calibration"]["report"]["method"].startswith("none")
    assert "wide" not in result["calibration"]["report"]


def test_the_served_artifact_keeps_its_scale():
    from forecasting.mlkind import artifact_bytes, artifact_load

    forecaster = MovingAverage(window=4)
    panel = make_panel().split(5)[0]
    scale = IntervalScale(0.5, 0.75)
    common = {"frequency": "D", "horizon": 5, "category_ids": [0, 1]}
    served = artifact_load(
        forecaster.name, artifact_bytes(forecaster, interval_scale=scale, **common)
    )
    plain = artifact_load(forecaster.name, artifact_bytes(forecaster, **common))

    raw = forecaster.predict(panel)
    assert isinstance(served.forecaster, Calibrated)
    np.testing.assert_allclose(served.forecaster.predict(panel), scale.apply(raw))
    np.testing.assert_allclose(plain.forecaster.predict(panel), raw)


def test_calibrated_forecasters_pass_the_calendar_only_where_it_is_taken():
    class Seasonal:
        def predict(self, panel, *, calendar=None):
            return np.full((1, 2, 3), 0.0 if calendar is None else 1.0)

    class Plain:
        def predict(self, panel):
            return np.zeros((1, 2, 3))

    assert Calibrated(Seasonal(), IntervalScale()).predict(None, calendar=1)[0, 0, 0]
    assert Calibrated(Seasonal(), IntervalScale()).takes_calendar
    assert not Calibrated(Plain(), IntervalScale()).takes_calendar
    Calibrated(Plain(), IntervalScale()).predict(None, calendar=1)  # dropped


def test_several_calibration_origins_are_pooled():
    seen = []
    result = rolling_origin(
        make_panel(), {"wide": lambda: Wide(seen)}, holdout=5, calibrate=2
    )
    assert seen == [55, 50, 45]
    report = result["calibration"]["report"]
    assert report["calibration_origins"] == 2
    assert report["wide"]["coverage_after"] == pytest.approx(0.8, abs=0.1)
    assert (
        rolling_origin(make_panel(t=22), {"wide": Wide}, 5, calibrate=3)["calibration"][
            "report"
        ]["calibration_origins"]
        == 2
    )  # as many as the history allows
