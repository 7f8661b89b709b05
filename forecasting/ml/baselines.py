"""Baseline demand forecasters: seasonal naive, moving average, exponential smoothing
and a global gradient-boosting model, all behind one `Forecaster` protocol.

Every forecaster returns units [n_series, horizon, 3] (P10, P50, P90), non-negative
and non-crossing. Stock-out periods are censored demand: they are read as missing,
never as zero sales. The gradient-boosting model is the bar the Keras model must beat:
direct multi-horizon quantile regression over all series at once (as in M5), on the
same features as the Keras model.
"""

import pickle
import warnings
from dataclasses import dataclass, field
from typing import Protocol, Self

import numpy as np

from .panel import Panel

QUANTILES = (0.1, 0.5, 0.9)
MIN_ERRORS = 8  # fewer in-sample errors than this: use the pooled relative spread
SCALE_PERIODS = {"D": 91, "W": 52}  # the recent mean that scales a series' units
SEASON_CYCLES = 3  # smoothing uses the season from this many cycles of history on
RECALLED = 2  # gradient boosting's last feature matrices whose rows are reused


class Forecaster(Protocol):
    name: str

    def fit(self, panel: Panel) -> "Forecaster": ...

    def predict(self, panel: Panel) -> np.ndarray: ...

    def to_bytes(self) -> bytes: ...

    @classmethod
    def from_bytes(cls, data: bytes) -> "Forecaster": ...


class Pickled:
    """Bytes round trip through pickle: artifacts are only written by our workers."""

    def to_bytes(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        loaded = pickle.loads(data)
        if not isinstance(loaded, cls):
            raise ValueError(
                f"artifact holds a {type(loaded).__name__}, not {cls.__name__}"
            )
        return loaded


def observed_units(panel: Panel) -> np.ndarray:
    """History units as float64 with stock-outs (censored demand) set to NaN."""
    units = panel.units.astype(np.float64)
    units[panel.stockout] = np.nan
    return units


def forward_filled(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last finite value before it in its row."""
    index = np.where(np.isfinite(values), np.arange(values.shape[1]), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    filled = values[np.arange(values.shape[0])[:, None], index]
    return filled


def with_category_prior(level: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Fill missing levels with the category median level (else the overall one)."""
    level = level.copy()
    known = np.isfinite(level)
    if known.all():
        return level
    overall = float(np.median(level[known])) if known.any() else 0.0
    for cat in np.unique(category[~known]):
        peers = known & (category == cat)
        prior = float(np.median(level[peers])) if cat and peers.any() else overall
        level[~known & (category == cat)] = prior
    return level


def series_level(units: np.ndarray) -> np.ndarray:
    """Mean observed units per series; NaN where nothing was observed."""
    counts = np.isfinite(units).sum(axis=1)
    sums = np.nansum(units, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def error_quantiles(errors: np.ndarray, level: np.ndarray) -> np.ndarray:
    """P10/P90 of each series' in-sample errors [n, 2]; short series get pooled ones.

    The pooled spread is relative (errors divided by the series level), so a small
    series borrows the shape of the others' errors at its own size.
    """
    out = np.zeros((errors.shape[0], 2))
    counts = np.isfinite(errors).sum(axis=1)
    enough = counts >= MIN_ERRORS
    if enough.any():
        out[enough] = np.nanquantile(errors[enough], [0.1, 0.9], axis=1).T
    if (~enough).any():
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = errors / np.where(level > 0, level, np.nan)[:, None]
        pooled = relative[np.isfinite(relative)]
        rel = np.quantile(pooled, [0.1, 0.9]) if pooled.size else np.array([-0.5, 0.5])
        safe_level = np.nan_to_num(level[~enough])
        out[~enough] = safe_level[:, None] * rel[None, :]
    return out


def quantile_forecast(p50: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Stack P10/P50/P90 [n, h, 3], non-negative and non-crossing."""
    return ordered(np.stack([p50 + low, p50, p50 + high], axis=-1))


def ordered(forecast: np.ndarray) -> np.ndarray:
    """Clip at zero; P10 and P90 give way where they cross P50 (the point forecast)."""
    forecast = np.clip(np.nan_to_num(forecast), 0.0, None)
    forecast[..., 0] = np.minimum(forecast[..., 0], forecast[..., 1])
    forecast[..., 2] = np.maximum(forecast[..., 2], forecast[..., 1])
    return forecast.astype(np.float32)


@dataclass
class SeasonalNaive(Pickled):
    """Repeat the last full season; intervals from in-sample seasonal differences."""

    name: str = "seasonal-naive"
    season: int | None = None  # default: the panel's season length

    def fit(self, panel: Panel) -> "SeasonalNaive":
        return self  # nothing to learn beyond what predict reads from the history

    def predict(self, panel: Panel) -> np.ndarray:
        units = observed_units(panel)
        n, t = units.shape
        season = self.season or panel.season_length
        lag = season if t > season else 1
        filled = forward_filled(units)
        level = with_category_prior(series_level(units), panel.category)
        filled = np.where(np.isfinite(filled), filled, level[:, None])
        steps = np.arange(panel.horizon)
        source = t - lag + steps % lag
        p50 = filled[:, source]
        errors = (
            units[:, lag:] - units[:, :-lag] if t > lag else np.full((n, 1), np.nan)
        )
        spread = error_quantiles(errors, level)
        widen = np.sqrt(steps // lag + 1)[None, :]
        return quantile_forecast(p50, spread[:, :1] * widen, spread[:, 1:] * widen)


@dataclass
class MovingAverage(Pickled):
    """The mean of the last `window` observed periods, flat over the horizon."""

    window: int = 4
    name: str = ""

    def __post_init__(self):
        if self.window < 1:
            raise ValueError("window must be at least one period")
        self.name = self.name or f"moving-average-{self.window}"

    def fit(self, panel: Panel) -> "MovingAverage":
        return self

    def predict(self, panel: Panel) -> np.ndarray:
        units = observed_units(panel)
        means = rolling_mean(units, self.window)  # [n, t]: mean of periods ..t
        level = with_category_prior(means[:, -1], panel.category)
        errors = units[:, 1:] - means[:, :-1]  # one-step errors of the same rule
        spread = error_quantiles(errors, series_level(units))
        p50 = np.repeat(level[:, None], panel.horizon, axis=1)
        return quantile_forecast(p50, spread[:, :1], spread[:, 1:])


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the finite values among the last `window` periods up to each period."""
    finite = np.isfinite(values)
    sums = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(np.where(finite, values, 0), 1)], 1
    )
    counts = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(finite, axis=1)], axis=1
    )
    end = np.arange(1, values.shape[1] + 1)
    begin = np.maximum(end - window, 0)
    total = sums[:, end] - sums[:, begin]
    count = counts[:, end] - counts[:, begin]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """Standard deviation of the finite values among the last `window` periods up to
    each period (the series' recent volatility); NaN where fewer than two."""
    mean = rolling_mean(values, window)
    square = rolling_mean(values**2, window)
    count = rolling_mean(np.isfinite(values).astype(float), window) * np.minimum(
        np.arange(1, values.shape[1] + 1), window
    )
    with np.errstate(invalid="ignore"):
        spread = np.sqrt(np.maximum(square - mean**2, 0.0))
    return np.where(count >= 2, spread, np.nan)


@dataclass
class ExponentialSmoothing(Pickled):
    """statsmodels Holt-Winters per series: damped additive trend, additive season.

    The season is used where the history holds three full cycles (heuristic initial
    states, so only the smoothing parameters are optimised; from two cycles of
    weekly data the 52 seasonal states were noise and cost accuracy on Dominick's);
    shorter series get a damped trend alone, very short or flat ones their mean. Intervals come from the
    in-sample one-step residuals, widened with the horizon as for simple smoothing.
    """

    name: str = "exponential-smoothing"
    max_iterations: int = 60
    min_periods: int = 10

    def fit(self, panel: Panel) -> "ExponentialSmoothing":
        return self  # one model per series, fitted on the history predict is given

    def predict(self, panel: Panel) -> np.ndarray:
        units = observed_units(panel)
        level = with_category_prior(series_level(units), panel.category)
        out = np.zeros((panel.n_series, panel.horizon, 3), dtype=np.float32)
        for i, row in enumerate(units):
            out[i] = self._series(row, level[i], panel.season_length, panel.horizon)
        return out

    def _series(self, row, level, season, horizon) -> np.ndarray:
        seen = np.flatnonzero(np.isfinite(row))
        values = row[seen[0] :] if seen.size else row[:0]
        if values.size:  # gaps and stock-outs: interpolate between observed periods
            gaps = np.isnan(values)
            values = values.copy()
            values[gaps] = np.interp(
                np.flatnonzero(gaps), np.flatnonzero(~gaps), values[~gaps]
            )
        if values.size < self.min_periods or np.ptp(values) == 0:
            return self._flat(values, level, horizon)
        try:
            p50, residuals, alpha = self._smooth(values, season, horizon)
        except (ValueError, np.linalg.LinAlgError):
            return self._flat(values, level, horizon)
        low, high = np.quantile(residuals, [0.1, 0.9])
        widen = np.sqrt(1 + alpha**2 * np.arange(horizon))
        return quantile_forecast(p50[None], low * widen[None], high * widen[None])[0]

    def _smooth(self, values, season, horizon):
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        from statsmodels.tsa.holtwinters import ExponentialSmoothing as HoltWinters

        seasonal = season > 1 and values.size >= SEASON_CYCLES * season
        model = HoltWinters(
            values,
            trend="add",
            damped_trend=True,
            seasonal="add" if seasonal else None,
            seasonal_periods=season if seasonal else None,
            initialization_method="heuristic" if seasonal else "estimated",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            fitted = model.fit(
                minimize_kwargs={"options": {"maxiter": self.max_iterations}},
                use_brute=False,
            )
        p50 = np.asarray(fitted.forecast(horizon), dtype=np.float64)
        residuals = np.asarray(fitted.resid, dtype=np.float64)
        if not (np.isfinite(p50).all() and np.isfinite(residuals).all()):
            raise ValueError("smoothing diverged")
        return p50, residuals, float(fitted.params["smoothing_level"])

    @staticmethod
    def _flat(values, level, horizon) -> np.ndarray:
        mean = float(values.mean()) if values.size else float(level)
        if values.size >= 2:
            low, high = np.quantile(values - mean, [0.1, 0.9])
        else:
            low, high = -0.5 * mean, 0.5 * mean
        p50 = np.full((1, horizon), mean)
        return quantile_forecast(p50, np.full_like(p50, low), np.full_like(p50, high))[
            0
        ]


@dataclass
class GradientBoosting(Pickled):
    """Global direct multi-horizon quantile boosting (HistGradientBoostingRegressor).

    One row per (series, forecast origin, horizon step) over all series, features as
    the Keras model sees them: lags and rolling means and standard deviations of
    per-series-scaled units (promotion-free and promotion-only means too), the target period's relative price
    log(price/base_price), promotion and calendar (planned values in the horizon), the
    previous period's price and promotion (post-promotion dips), category, horizon
    step, series log scale and age. The target is log1p(units/scale): quantiles are
    invariant to that monotone map, and it tames promotion spikes. One regressor per
    quantile, P10/P90 then calibrated out of sample; censored (stock-out) periods are
    never targets and are missing as lags. Training rows are sampled down to
    `max_rows`, so the cost is bounded whatever the number of series.
    """

    name: str = "gradient-boosting"
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    max_rows: int = 400_000
    seed: int = 0
    threads: int | None = 1  # OpenMP threads; 2 on a busy 2-core host ran 5x slower
    models: list = field(default_factory=list, repr=False)
    shifts: np.ndarray = field(default_factory=lambda: np.zeros(3), repr=False)
    horizon: int = 0

    def fit(self, panel: Panel) -> "GradientBoosting":
        import sklearn.ensemble  # noqa: F401  (loads OpenMP, so the limit applies)
        from threadpoolctl import threadpool_limits

        self.__dict__.pop("_recent", None)
        features = BoostingFeatures(panel)
        rows, steps = features.training_rows(panel.horizon, self.max_rows, self.seed)
        x = features.matrix(rows[:, 0], rows[:, 1], steps)
        target = features.scaled[rows[:, 0], rows[:, 1] + steps]
        y = np.log1p(np.maximum(target, 0.0))
        recent = rows[:, 1] + steps >= panel.n_periods - panel.horizon
        with threadpool_limits(self.threads, user_api="openmp"):
            self.shifts = self._interval_shifts(x, y, recent, features)
            x = without_empty_columns(x)
            self.models = [self._regressor(q, features).fit(x, y) for q in QUANTILES]
        self.horizon = panel.horizon
        return self

    def _interval_shifts(self, x, y, recent, features) -> np.ndarray:
        """Shifts of P10/P50/P90 (log scale) that calibrate the band out of sample.

        Quantile trees fitted in sample give too narrow a band. P10 and P90 are fitted
        once more without the last horizon's targets and scored on them; the shifts
        that give 10% and 90% coverage there are added to the final model's quantiles
        (conformalised quantile regression, one split).
        """
        shifts = np.zeros(3)
        if recent.sum() < 100 or (~recent).sum() < 100:
            return shifts
        for k in (0, 2):
            model = self._regressor(QUANTILES[k], features).fit(
                without_empty_columns(x[~recent]), y[~recent]
            )
            errors = y[recent] - model.predict(x[recent])
            shifts[k] = np.quantile(errors, QUANTILES[k])
        return shifts

    def _recalled(
        self, x: np.ndarray, columns: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles of the rows of `x` equal to a row of the same place in one of
        the last `RECALLED` feature matrices (where those had the `columns`
        predicted), and the mask of rows still to predict.

        Explanations forecast a panel again with one driver changed (the usual
        price, no promotion): rows it leaves alone are not predicted again. Trees
        score each row on its own, so the recalled quantiles are the same numbers.
        """
        quantiles = np.full((len(x), len(QUANTILES)), np.nan)
        todo = np.ones(len(x), dtype=bool)
        for previous, values in reversed(self.__dict__.get("_recent", [])):
            if previous.shape != x.shape or not todo.any():
                continue
            same = ((previous == x) | (np.isnan(previous) & np.isnan(x))).all(axis=1)
            same &= todo & np.isfinite(values[:, columns]).all(axis=1)
            quantiles[same] = values[same]
            todo &= ~same
        return quantiles, todo

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_recent", None)  # recalled forecasts never go into artifacts
        return state

    def _regressor(self, quantile: float, features: "BoostingFeatures"):
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            loss="quantile",
            quantile=quantile,
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            categorical_features=features.categorical,
            early_stopping=False,
            random_state=self.seed,
        )

    def predict(self, panel: Panel) -> np.ndarray:
        return ordered(self._units(panel, (0, 1, 2)))

    def predict_median(self, panel: Panel) -> np.ndarray:
        """`predict(panel)[..., 1]` from the median's trees alone (a third of them)."""
        p50 = self._units(panel, (1,))[..., 1]
        return np.clip(np.nan_to_num(p50), 0.0, None).astype(np.float32)

    def _units(self, panel: Panel, columns: tuple[int, ...]) -> np.ndarray:
        """Units [n, horizon, 3] with the quantiles in `columns` predicted (NaN in
        the others unless recalled)."""
        from threadpoolctl import threadpool_limits

        if not self.models:
            raise ValueError("fit the model before predicting")
        features = BoostingFeatures(panel)
        series, x = features.last_origin()
        quantiles, todo = self._recalled(x, columns)
        if todo.any():
            with threadpool_limits(self.threads, user_api="openmp"):
                for k in columns:
                    quantiles[todo, k] = self.models[k].predict(x[todo])
        self._recent = [*self.__dict__.get("_recent", [])[-(RECALLED - 1) :]]
        self._recent.append((x, quantiles.copy()))
        quantiles = quantiles + self.shifts
        units = np.expm1(quantiles) * features.scale[series, None]
        return units.reshape(panel.n_series, panel.horizon, 3)


def without_empty_columns(x: np.ndarray) -> np.ndarray:
    """`x` with columns that hold no value set to 0: HistGradientBoosting cannot bin
    an all-missing column (a year-ago lag in a year of weekly history). Trees never
    split on a constant, so the column's values at prediction time are ignored."""
    empty = np.isnan(x).all(axis=0)
    if not empty.any():
        return x
    x = x.copy()
    x[:, empty] = 0.0
    return x


class BoostingFeatures:
    """Feature rows for (series, origin, step): the origin is the last known period."""

    def __init__(self, panel: Panel):
        units = observed_units(panel)
        self.panel = panel
        level = series_level(units[:, -SCALE_PERIODS[panel.frequency] :])
        level = np.where(np.isfinite(level) & (level > 0), level, np.nan)
        self.scale = np.maximum(with_category_prior(level, panel.category), 1e-3)
        self.scaled = units / self.scale[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            self.relative_price = np.log(panel.price / panel.base_price).astype(float)
        self.relative_price[~np.isfinite(self.relative_price)] = 0.0
        self.promo = np.nan_to_num(panel.promo.astype(float))
        self.calendar = panel.calendar()
        daily = panel.frequency == "D"
        self.lags = 14 if daily else 8
        self.windows = (7, 14, 28, 56, 112, 364) if daily else (4, 8, 13, 26, 52)
        history_promo = self.promo[:, : panel.n_periods]
        regular = np.where(
            (history_promo < 0.25)
            & (self.relative_price[:, : panel.n_periods] > -0.05),
            self.scaled,
            np.nan,
        )
        on_promo = np.where(history_promo >= 0.25, self.scaled, np.nan)
        long = self.windows[-2]
        self.means = [rolling_mean(self.scaled, w) for w in self.windows]
        self.means.append(rolling_mean(regular, self.windows[2]))
        self.means.append(rolling_mean(regular, long))
        self.means.append(rolling_mean(on_promo, long))
        self.means.append(rolling_mean(self.promo[:, : panel.n_periods], long))
        self.means += [rolling_std(self.scaled, w) for w in self.windows[:3:2]]
        self.age = np.cumsum(np.isfinite(units), axis=1)
        # HistGradientBoosting takes at most 254 categories; more are read as numbers
        self.categorical = [0] if panel.category.max(initial=0) < 254 else None

    def training_rows(self, horizon: int, max_rows: int, seed: int):
        """Sampled (series, origin) pairs and steps whose target demand was observed."""
        rng = np.random.default_rng(seed)
        t = self.scaled.shape[1]
        found = []
        total = sum(
            int((np.isfinite(self.scaled[:, h:]) & (self.age[:, :-h] > 0)).sum())
            for h in range(1, min(horizon, t - 1) + 1)
        )
        keep = min(1.0, max_rows / max(total, 1))
        for h in range(1, min(horizon, t - 1) + 1):
            ok = np.isfinite(self.scaled[:, h:]) & (self.age[:, : t - h] > 0)
            series, origin = np.nonzero(ok)
            chosen = rng.random(series.size) < keep
            found.append(
                np.stack([series[chosen], origin[chosen], np.full(chosen.sum(), h)], 1)
            )
        rows = np.concatenate(found) if found else np.zeros((0, 3), dtype=int)
        if not len(rows):
            raise ValueError("no observed demand to learn from")
        return rows[:, :2], rows[:, 2]

    def last_origin(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows forecasting every series from its last period, one per horizon step:
        (the series of each row, the feature matrix)."""
        panel = self.panel
        series = np.repeat(np.arange(panel.n_series), panel.horizon)
        steps = np.tile(np.arange(1, panel.horizon + 1), panel.n_series)
        origin = np.full(series.shape, panel.n_periods - 1)
        return series, self.matrix(series, origin, steps)

    def matrix(self, series: np.ndarray, origin: np.ndarray, step: np.ndarray):
        """The feature matrix; column 0 is the category (a categorical feature)."""
        target = origin + step
        season = self.panel.season_length
        cols = [self.panel.category[series].astype(float), step.astype(float)]
        for lag in range(self.lags):
            cols.append(self._history(self.scaled, series, origin - lag))
        back = season * np.ceil(step / season).astype(int)
        cols.append(self._history(self.scaled, series, target - back))
        cols += [m[series, origin] for m in self.means]
        for values in (self.relative_price, self.promo):
            cols += [values[series, target], values[series, target - 1]]
            cols.append(values[series, origin])
        with np.errstate(divide="ignore", invalid="ignore"):
            price_change = np.log(
                self.panel.price[series, target] / self.panel.price[series, origin]
            )
            list_change = np.log(
                self.panel.base_price[series, target]
                / self.panel.base_price[series, origin]
            )
        cols += [price_change.astype(float), list_change.astype(float)]
        cols += list(self.calendar[target].T.astype(float))
        cols.append(np.log(self.scale[series]))
        cols.append(np.log1p(self.age[series, origin]))
        matrix = np.stack(cols, axis=1)
        matrix[~np.isfinite(matrix)] = np.nan
        return matrix

    @staticmethod
    def _history(values, series, index):
        ok = index >= 0
        out = np.full(series.shape, np.nan)
        out[ok] = values[series[ok], index[ok]]
        return out
