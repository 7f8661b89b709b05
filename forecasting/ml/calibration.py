"""Interval calibration: P10 and P90 moved toward or away from P50, fitted out of sample.

A forecaster's P10–P90 band can be too wide or too narrow for the data it serves. The
scale is fitted on forecasts made *before* the periods they are judged on (a rolling
origin earlier than the scored holdout, or the holdout itself for what serves), the
split-conformal way: the lower scale is the conformal 90 % quantile of
(P50 − actual) / (P50 − P10), the upper one of (actual − P50) / (P90 − P50), so that
about 10 % of the calibration actuals fall below the new P10 and 10 % above the new P90.
P50 is never changed, so MASE and RMSSE are not either.

With integer sales that are mostly zero (the demo store's daily demand), an actual equal
to P10 or P50 counts as covered whatever the scale, coverage cannot fall to 80 %, and
the rule alone would collapse the band onto P50. So each scale is kept within
[`MIN_SCALE`, `MAX_SCALE`], and a side is left at 1 where its scale does not bring
the calibration share beyond it closer to 10 % (by more than `TIE_TOLERANCE`) or
where fewer than `MIN_POINTS` actuals inform it.
"""

from dataclasses import dataclass

import numpy as np

TARGET_TAIL = 0.1  # share of actuals meant below P10, and above P90
MIN_SCALE = 0.25
MAX_SCALE = 4.0
MIN_POINTS = 30
TIE_TOLERANCE = 0.005  # a scale must move the calibration tail share by more


@dataclass(frozen=True)
class IntervalScale:
    """Multipliers of P50 − P10 (`lower`) and P90 − P50 (`upper`)."""

    lower: float = 1.0
    upper: float = 1.0

    @property
    def is_identity(self) -> bool:
        return self.lower == 1.0 and self.upper == 1.0

    def apply(self, forecast: np.ndarray) -> np.ndarray:
        """Return forecast [..., 3] with P10/P90 rescaled about P50 (P50 unchanged)."""
        if self.is_identity:
            return forecast
        forecast = np.asarray(forecast)
        p50 = forecast[..., 1]
        out = forecast.copy()
        out[..., 0] = np.maximum(p50 - self.lower * (p50 - forecast[..., 0]), 0.0)
        out[..., 2] = p50 + self.upper * (forecast[..., 2] - p50)
        out[..., 0] = np.minimum(out[..., 0], p50)
        out[..., 2] = np.maximum(out[..., 2], p50)
        return out

    def as_list(self) -> list[float]:
        return [round(self.lower, 4), round(self.upper, 4)]


def fit_scale(
    forecast: np.ndarray, actual: np.ndarray, censored: np.ndarray | None = None
) -> IntervalScale:
    """Fit the scale on forecasts [n, h, 3] of periods whose actuals [n, h] are known.

    Censored (stock-out) and missing actuals are left out, as in the metrics.
    """
    mask = np.isfinite(actual)
    if censored is not None:
        mask &= ~censored
    if mask.sum() < MIN_POINTS:
        return IntervalScale()
    y = np.asarray(actual, np.float64)[mask]
    p10, p50, p90 = (np.asarray(forecast[..., k], np.float64)[mask] for k in range(3))
    lower = _side(_scores(p50 - y, p50 - p10))
    upper = _side(_scores(y - p50, p90 - p50))
    return IntervalScale(lower, upper)


def _side(scores: np.ndarray) -> float:
    """The conformal scale of one side, or 1 where it does not bring the share of
    calibration actuals beyond that side closer to `TARGET_TAIL` (ties at zero)."""
    scale = _conformal(scores)

    def miss(value: float) -> float:
        return abs(float(np.mean(scores > value)) - TARGET_TAIL)

    return scale if miss(scale) < miss(1.0) - TIE_TOLERANCE else 1.0


def _scores(excess: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Scale each actual needs to be covered: excess / width (±inf where width = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        score = excess / width
    zero = width <= 0
    score[zero] = np.where(excess[zero] > 0, np.inf, -np.inf)
    return score


def _conformal(scores: np.ndarray) -> float:
    """The split-conformal quantile at 1 − `TARGET_TAIL`, clipped to the bounds."""
    n = scores.size
    level = min(1.0, np.ceil((n + 1) * (1 - TARGET_TAIL)) / n)
    value = float(np.quantile(scores, level, method="higher"))
    if np.isnan(value):
        return 1.0
    return float(np.clip(value, MIN_SCALE, MAX_SCALE))


class Calibrated:
    """A fitted forecaster whose P10/P90 are rescaled by an `IntervalScale`."""

    def __init__(self, forecaster, scale: IntervalScale):
        self.forecaster = forecaster
        self.scale = scale
        self.name = getattr(forecaster, "name", "")
        self.takes_calendar = takes_calendar(forecaster)

    def predict(self, panel, *, calendar=None) -> np.ndarray:
        if calendar is not None and self.takes_calendar:
            forecast = self.forecaster.predict(panel, calendar=calendar)
        else:
            forecast = self.forecaster.predict(panel)
        return self.scale.apply(forecast)

    def predict_median(self, panel, *, calendar=None) -> np.ndarray:
        """P50 is never rescaled: the inner forecaster's."""
        from .ensemble import median_forecast

        if not self.takes_calendar:
            calendar = None
        return median_forecast(self.forecaster, panel, calendar=calendar)

    def hyperparameters(self) -> dict:
        inner = getattr(self.forecaster, "hyperparameters", dict)()
        return {**inner, "interval_scale": self.scale.as_list()}


def takes_calendar(forecaster) -> bool:
    """Whether `forecaster.predict` takes a `calendar` (a season held flat)."""
    import inspect

    flag = getattr(forecaster, "takes_calendar", None)
    if flag is not None:
        return bool(flag)
    return "calendar" in inspect.signature(forecaster.predict).parameters
