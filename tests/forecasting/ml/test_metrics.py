import numpy as np
import pytest

from forecasting.ml.metrics import (
    all_metrics,
    coverage,
    mase,
    naive_scale,
    pinball,
    rmsse,
)

HISTORY = np.array([[1.0, 2.0, 4.0, 7.0]])


def quantiles(p10, p50, p90):
    return np.stack([np.array(p10), np.array(p50), np.array(p90)], axis=-1)[None]


def test_naive_scale_uses_the_season_where_the_history_allows():
    assert naive_scale(HISTORY, 1, 1)[0] == pytest.approx(2.0)  # |1|, |2|, |3|
    assert naive_scale(HISTORY, 2, 1)[0] == pytest.approx(4.0)  # |4-1|, |7-2|
    assert naive_scale(HISTORY, 3, 1)[0] == pytest.approx(2.0)  # too short: lag 1
    assert np.isnan(naive_scale(np.array([[np.nan, 5.0]]), 1, 1)[0])  # one value


def test_mase_and_rmsse_by_hand():
    forecast = quantiles([6, 6], [7, 7], [9, 9])
    actual = np.array([[8.0, 10.0]])
    assert mase(HISTORY, actual, forecast, 1) == pytest.approx(1.0)  # (1 + 3) / 2 / 2
    # squared errors 1, 9 over squared naive differences 1, 4, 9
    assert rmsse(HISTORY, actual, forecast, 1) == pytest.approx(np.sqrt(5 / (14 / 3)))


def test_pinball_by_hand_and_scaled():
    forecast = quantiles([8], [10], [13])
    actual = np.array([[10.0]])
    # 0.1 * 2, 0, 0.1 * 3 over three quantiles
    assert pinball(actual, forecast) == pytest.approx(0.5 / 3)
    assert pinball(actual, forecast, scale=np.array([2.0])) == pytest.approx(0.25 / 3)


def test_censored_and_missing_periods_are_left_out():
    forecast = quantiles([4, 4, 4], [6, 6, 6], [10, 10, 10])
    actual = np.array([[5.0, 20.0, np.nan]])
    censored = np.array([[False, True, False]])
    assert coverage(actual, forecast) == pytest.approx(0.5)
    assert coverage(actual, forecast, censored) == pytest.approx(1.0)
    assert mase(HISTORY, actual, forecast, 1, censored) == pytest.approx(0.5)  # |5-6|/2


def test_all_metrics_reports_the_four_names():
    forecast = quantiles([6, 6], [7, 7], [9, 9])
    scores = all_metrics(HISTORY, np.array([[8.0, 10.0]]), forecast, 1)
    assert set(scores) == {"mase", "rmsse", "pinball", "coverage_p10_p90"}
    assert scores["coverage_p10_p90"] == pytest.approx(0.5)
