"""Peers from well-kept libraries, scored beside the project's own forecasters.

`LightGBMForecaster` is a global M5-style model: one LightGBM booster over every
series with the features of `baselines.BoostingFeatures` (lags at each horizon step,
rolling means and volatility, price relative to the usual price, promotion share,
the target period's planned price and promotion, calendar, category, series scale),
a tweedie objective on the scaled units for P50 and quantile objectives for P10/P90,
calibrated out of sample on the last horizon (as `GradientBoosting` does).

`AutoETS` is statsmodels' `ETSModel` per series over the error/trend/damping/season
combinations that statsforecast's AutoETS searches, the one with the lowest AICc
kept (statsforecast itself requires pandas < 3, which the project does not use).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from .baselines import (
    SEASON_CYCLES,
    BoostingFeatures,
    Pickled,
    observed_units,
    ordered,
    quantile_forecast,
    series_level,
    with_category_prior,
)
from .panel import Panel

P10, P90 = 0.1, 0.9


@dataclass
class LightGBMForecaster(Pickled):
    """Global LightGBM: tweedie P50, quantile P10/P90, direct multi-horizon."""

    name: str = "lightgbm"
    n_estimators: int = 400
    learning_rate: float = 0.04
    num_leaves: int = 63
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    tweedie_variance_power: float = 1.2
    max_rows: int = 400_000
    seed: int = 0
    threads: int = 1
    boosters: list = field(default_factory=list, repr=False)
    shifts: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)

    def _params(self, objective: str, alpha: float | None = None) -> dict:
        params = {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "num_threads": self.threads,
            "seed": self.seed,
            "deterministic": True,
            "verbosity": -1,
        }
        if objective == "tweedie":
            params["tweedie_variance_power"] = self.tweedie_variance_power
        if alpha is not None:
            params["alpha"] = alpha
        return params

    def _train(self, x, y, objective, alpha=None):
        import lightgbm as lgb

        data = lgb.Dataset(
            x, y, categorical_feature=[0], free_raw_data=True, params={"verbose": -1}
        )
        return lgb.train(
            self._params(objective, alpha), data, num_boost_round=self.n_estimators
        )

    def fit(self, panel: Panel) -> "LightGBMForecaster":
        features = BoostingFeatures(panel)
        rows, steps = features.training_rows(panel.horizon, self.max_rows, self.seed)
        x = features.matrix(rows[:, 0], rows[:, 1], steps)
        target = np.maximum(features.scaled[rows[:, 0], rows[:, 1] + steps], 0.0)
        recent = rows[:, 1] + steps >= panel.n_periods - panel.horizon
        log_target = np.log1p(target)
        self.shifts = self._interval_shifts(x, log_target, recent)
        self.boosters = [
            self._train(x, log_target, "quantile", P10),
            self._train(x, target, "tweedie"),
            self._train(x, log_target, "quantile", P90),
        ]
        return self

    def _interval_shifts(self, x, y, recent) -> np.ndarray:
        """Log-scale shifts of P10/P90 that give 10 % / 90 % coverage on the last
        horizon's targets when fitted without them (one conformal split)."""
        shifts = np.zeros(3)
        if recent.sum() < 100 or (~recent).sum() < 100:
            return shifts
        for k, alpha in ((0, P10), (2, P90)):
            booster = self._train(x[~recent], y[~recent], "quantile", alpha)
            errors = y[recent] - booster.predict(x[recent])
            shifts[k] = np.quantile(errors, alpha)
        return shifts

    def predict(self, panel: Panel) -> np.ndarray:
        if not self.boosters:
            raise ValueError("fit the model before predicting")
        features = BoostingFeatures(panel)
        series, x = features.last_origin()
        low, mid, high = (booster.predict(x) for booster in self.boosters)
        scale = features.scale[series]
        quantiles = np.stack(
            [
                np.expm1(low + self.shifts[0]) * scale,
                mid * scale,
                np.expm1(high + self.shifts[2]) * scale,
            ],
            axis=-1,
        )
        return ordered(quantiles.reshape(panel.n_series, panel.horizon, 3))

    def hyperparameters(self) -> dict:
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "objective": "tweedie P50, quantile P10/P90",
        }


ETS_MIN_PERIODS = 10
CACHED_SERIES = 50_000  # forecasts kept by history: ETS ignores prices and promotions


@dataclass
class AutoETS(Pickled):
    """statsmodels ETSModel per series, the specification chosen by AICc.

    Additive error always; multiplicative error where the series is strictly
    positive. Trend none, additive or damped additive; an additive season where the
    history holds `SEASON_CYCLES` full seasons. P10/P90 from the in-sample one-step
    residuals, widened with the horizon.
    """

    name: str = "auto-ets"
    max_iterations: int = 200
    chosen: dict = field(default_factory=dict, repr=False)

    def fit(self, panel: Panel) -> "AutoETS":
        return self  # one model per series, chosen on the history predict is given

    def predict(self, panel: Panel) -> np.ndarray:
        units = observed_units(panel)
        level = with_category_prior(series_level(units), panel.category)
        out = np.zeros((panel.n_series, panel.horizon, 3), dtype=np.float32)
        self.chosen = {}
        cache = self.__dict__.setdefault("_cache", {})
        for i, row in enumerate(units):
            key = (row.tobytes(), float(level[i]), panel.season_length, panel.horizon)
            if key not in cache:  # explanations re-forecast unchanged histories
                if len(cache) >= CACHED_SERIES:
                    cache.clear()
                cache[key] = self._series(
                    row, level[i], panel.season_length, panel.horizon
                )
            out[i] = cache[key]
        return out

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_cache", None)  # forecasts of past panels never go into artifacts
        return state

    def _series(self, row, level, season, horizon) -> np.ndarray:
        values = _interpolated(row)
        if values.size < ETS_MIN_PERIODS or np.ptp(values) == 0:
            return _flat(values, level, horizon)
        best = None
        for spec in _specifications(values, season):
            fitted = self._fit(values, spec)
            if fitted is not None and (best is None or fitted.aicc < best[1].aicc):
                best = (spec, fitted)
        if best is None:
            return _flat(values, level, horizon)
        spec, fitted = best
        key = "".join(s[0] if s else "N" for s in spec[:3]).upper() + (
            "d" if spec[3] else ""
        )
        self.chosen[key] = self.chosen.get(key, 0) + 1
        p50 = np.asarray(fitted.forecast(horizon), dtype=np.float64)
        residuals = values - np.asarray(fitted.fittedvalues, dtype=np.float64)
        if not (np.isfinite(p50).all() and np.isfinite(residuals).all()):
            return _flat(values, level, horizon)
        low, high = np.quantile(residuals, [0.1, 0.9])
        alpha = float(np.clip(fitted.params[0], 0.0, 1.0))
        widen = np.sqrt(1 + alpha**2 * np.arange(horizon))
        return quantile_forecast(p50[None], low * widen[None], high * widen[None])[0]

    def _fit(self, values, spec):
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        error, trend, seasonal, damped, periods = spec
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                warnings.simplefilter("ignore", UserWarning)
                model = ETSModel(
                    values,
                    error=error,
                    trend=trend,
                    damped_trend=damped,
                    seasonal=seasonal,
                    seasonal_periods=periods,
                )
                fitted = model.fit(disp=False, maxiter=self.max_iterations)
        except (ValueError, np.linalg.LinAlgError):
            return None
        return fitted if np.isfinite(fitted.aicc) else None


def _specifications(values: np.ndarray, season: int) -> list[tuple]:
    """(error, trend, seasonal, damped, seasonal periods) combinations to try."""
    errors = ["add", "mul"] if values.min() > 0 else ["add"]
    trends = [(None, False), ("add", False), ("add", True)]
    seasons = [None]
    if season > 1 and values.size >= SEASON_CYCLES * season:
        seasons.append("add")
    return [
        (error, trend, seasonal, damped, season if seasonal else None)
        for error in errors
        for trend, damped in trends
        for seasonal in seasons
    ]


def _interpolated(row: np.ndarray) -> np.ndarray:
    """The series from its first observation on, gaps and stock-outs interpolated."""
    seen = np.flatnonzero(np.isfinite(row))
    values = row[seen[0] :].copy() if seen.size else row[:0].copy()
    gaps = np.isnan(values)
    if gaps.any():
        values[gaps] = np.interp(
            np.flatnonzero(gaps), np.flatnonzero(~gaps), values[~gaps]
        )
    return values


def _flat(values, level, horizon) -> np.ndarray:
    mean = float(values.mean()) if values.size else float(level)
    if values.size >= 2:
        low, high = np.quantile(values - mean, [0.1, 0.9])
    else:
        low, high = -0.5 * mean, 0.5 * mean
    p50 = np.full((1, horizon), mean)
    return quantile_forecast(p50, np.full_like(p50, low), np.full_like(p50, high))[0]
