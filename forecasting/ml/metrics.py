"""Forecast accuracy metrics over a panel: MASE, RMSSE, pinball loss and coverage.

Forecasts are arrays [n_series, horizon, 3] holding P10, P50 and P90. Scaled errors
divide by the in-sample error of the seasonal naive forecast of each series (or the
one-step naive one where the history is shorter than a season), as in M4/M5.
Periods with NaN actuals or a stock-out (censored demand) are left out.
"""

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def naive_scale(history: np.ndarray, season: int, power: int) -> np.ndarray:
    """Mean |y_t - y_{t-m}|**power over each series' history; NaN where undefined."""
    scales = np.full(history.shape[0], np.nan)
    for i, row in enumerate(history):
        values = row[~np.isnan(row)]
        lag = season if values.size > season + 1 else 1
        if values.size <= lag:
            continue
        diffs = np.abs(values[lag:] - values[:-lag]) ** power
        scales[i] = diffs.mean()
    return scales


def _mask(actual: np.ndarray, censored: np.ndarray | None) -> np.ndarray:
    mask = ~np.isnan(actual)
    if censored is not None:
        mask &= ~censored
    return mask


def _scaled(errors: np.ndarray, mask: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per-series mean of masked errors divided by the scale; NaN where undefined."""
    counts = mask.sum(axis=1)
    sums = np.where(mask, errors, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_series = sums / counts / scale
    ok = (counts > 0) & np.isfinite(scale) & (scale > 0)
    return np.where(ok, per_series, np.nan)


def mase(history, actual, forecast, season, censored=None) -> float:
    """Mean absolute scaled error of the P50 forecast, averaged over series."""
    mask = _mask(actual, censored)
    errors = np.abs(np.nan_to_num(actual) - forecast[..., 1])
    values = _scaled(errors, mask, naive_scale(history, season, 1))
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def rmsse(history, actual, forecast, season, censored=None) -> float:
    """Root mean squared scaled error of the P50 forecast, averaged over series."""
    mask = _mask(actual, censored)
    errors = (np.nan_to_num(actual) - forecast[..., 1]) ** 2
    values = np.sqrt(_scaled(errors, mask, naive_scale(history, season, 2)))
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def pinball(actual, forecast, censored=None, scale=None) -> float:
    """Mean pinball loss over P10/P50/P90, optionally divided per series by `scale`."""
    mask = _mask(actual, censored)
    y = np.nan_to_num(actual)[..., None]
    q = np.asarray(QUANTILES)
    diff = y - forecast
    loss = np.maximum(q * diff, (q - 1) * diff).mean(axis=-1)
    if scale is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = loss / np.where(scale > 0, scale, np.nan)[:, None]
        mask = mask & np.isfinite(loss)
    return float(loss[mask].mean()) if mask.any() else float("nan")


def coverage(actual, forecast, censored=None) -> float:
    """Share of actuals inside [P10, P90] (the ideal is 0.8)."""
    mask = _mask(actual, censored)
    y = np.nan_to_num(actual)
    inside = (y >= forecast[..., 0]) & (y <= forecast[..., 2])
    return float(inside[mask].mean()) if mask.any() else float("nan")


def all_metrics(history, actual, forecast, season, censored=None) -> dict[str, float]:
    """The metrics `model_report` shows for a demand forecast."""
    scale = naive_scale(history, season, 1)
    return {
        "mase": mase(history, actual, forecast, season, censored),
        "rmsse": rmsse(history, actual, forecast, season, censored),
        "pinball": pinball(actual, forecast, censored, scale=scale),
        "coverage_p10_p90": coverage(actual, forecast, censored),
    }
