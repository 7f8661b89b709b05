"""The Keras demand model: one global LSTM over every product's sales windows.

An LSTM encodes the last `lookback` periods of a series (units divided by the series'
scale, stock-out flag, on-sale flag, log price relative to the usual price, promotion,
calendar). A decoder reads that state with each future period's known covariates
(relative price, promotion, calendar, step), a category embedding and the series' log
scale, and outputs P10 <= P50 <= P90 per step (P10 plus softplus gaps, all >= 0),
trained with a pinball loss on windows sampled from the history (MQ-RNN style).

Stock-out periods are censored demand: their observed sales are only a lower bound, so
the loss penalises a forecast below them and never one above. The scale of a window is
the mean of its uncensored units shrunk towards its category's typical level, so that a
new product with little or no history is forecast from its category's prior.
"""

import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import layers, ops

from mlops.ml.progress import Progress
from mlops.ml.training import fit_with_early_stopping

from .panel import Panel

QUANTILES = (0.1, 0.5, 0.9)
AUTO_LOOKBACK = {"D": 56, "W": 26}
PAST_FEATURES = 5  # log units/scale, stock-out, on sale, log relative price, promo
FUTURE_FEATURES = 3  # log relative price, promo, step / horizon
# Rows per forward pass when forecasting. Batches go straight to the compiled predict
# function (`predict_on_batch`), as `model.predict` would split them, without the
# tf.data pipeline it builds on every call (most of a call's time on 1,000 series).
PREDICT_BATCH = 4096


@dataclass(frozen=True)
class DemandConfig:
    """Sizes and training budget; defaults fit 10,000 × 730 daily on 2 CPU cores."""

    encoder: str = "lstm"  # "lstm", "gru" or "conv" (dilated causal convolutions)
    lookback: int = 0  # periods the encoder reads; 0: 56 daily, 26 weekly
    hidden: int = 32
    category_dim: int = 4
    learning_rate: float = 3e-3
    batch_size: int = 512
    epochs: int = 12
    patience: int = 2
    max_windows: int = 60_000  # training windows sampled over all series
    max_validation_windows: int = 5_000  # the last window of that many series
    prior_periods: float = 7.0  # weight of the category level in a window's scale
    min_scale: float = 0.1  # units; keeps scaled intermittent sales bounded


class MonotoneQuantiles(layers.Layer):
    """Map raw outputs (..., 3) to P10 >= 0, then add softplus gaps for P50, P90.

    P10 can be exactly zero: with intermittent demand zero is its true value.
    """

    def call(self, raw):
        positive = ops.softplus(raw)
        floor = ops.relu(positive[..., :1] - 0.01)
        return ops.cumsum(ops.concatenate([floor, positive[..., 1:]], -1), axis=-1)


def censored_pinball(y_true, y_pred):
    """Pinball loss over P10/P50/P90; y_true holds (units, censored, observed).

    A censored target (a stock-out) only penalises forecasts below it; periods
    before a product was on sale are masked out.
    """
    target, censored, observed = y_true[..., 0:1], y_true[..., 1:2], y_true[..., 2:3]
    q = ops.convert_to_tensor(np.asarray(QUANTILES, np.float32))
    diff = target - y_pred
    under = q * ops.maximum(diff, 0.0)
    over = (1.0 - q) * ops.maximum(-diff, 0.0) * (1.0 - censored)
    return ops.mean((under + over) * observed, axis=(1, 2))


def _encoder(config: DemandConfig, seed: int):
    """Return the layer that turns (B, lookback, features) into a (B, hidden) state."""
    init = keras.initializers.GlorotUniform(seed)
    if config.encoder == "lstm":
        return layers.LSTM(config.hidden, kernel_initializer=init)
    if config.encoder == "gru":
        return layers.GRU(config.hidden, kernel_initializer=init)
    if config.encoder == "conv":
        stack = [
            layers.Conv1D(
                config.hidden,
                3,
                padding="causal",
                dilation_rate=rate,
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed + rate),
            )
            for rate in (1, 2, 4, 8)
        ]
        return keras.Sequential([*stack, layers.Lambda(lambda x: x[:, -1, :])])
    raise ValueError(f"unknown encoder {config.encoder!r}")


def build(
    config: DemandConfig,
    *,
    lookback: int,
    horizon: int,
    n_calendar: int,
    n_categories: int,
    seed: int,
) -> keras.Model:
    """Return the model: past, future, category, log scale -> quantiles (B, H, 3)."""
    c = config
    init = keras.initializers.GlorotUniform
    past = keras.Input((lookback, PAST_FEATURES + n_calendar), name="past")
    future = keras.Input((horizon, FUTURE_FEATURES + n_calendar), name="future")
    category = keras.Input((1,), dtype="int32", name="category")
    log_scale = keras.Input((1,), name="log_scale")
    state = _encoder(c, seed)(past)
    embedded = layers.Flatten()(
        layers.Embedding(
            n_categories,
            c.category_dim,
            embeddings_initializer=keras.initializers.RandomNormal(0, 0.05, seed),
        )(category)
    )
    context = layers.Concatenate()([state, embedded, log_scale])
    context = layers.Dense(c.hidden, "relu", kernel_initializer=init(seed + 1))(context)
    steps = layers.Concatenate()([layers.RepeatVector(horizon)(context), future])
    hidden = layers.Dense(c.hidden, "relu", kernel_initializer=init(seed + 2))(steps)
    hidden = layers.Dense(c.hidden, "relu", kernel_initializer=init(seed + 3))(hidden)
    raw = layers.Dense(3, kernel_initializer=init(seed + 4))(hidden)
    quantiles = MonotoneQuantiles()(raw)
    return keras.Model([past, future, category, log_scale], quantiles)


def relative_price(price: np.ndarray, base_price: np.ndarray) -> np.ndarray:
    """Return log(price / usual price), 0 where unknown, clipped to ±1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.log(price / base_price)
    return np.clip(np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0), -1, 1)


def category_levels(panel: Panel, periods: int, min_count: int = 7) -> np.ndarray:
    """Median over each category's series of their recent mean uncensored units.

    Index 0 holds the level over all series (used for unknown categories and for
    categories without an established series).
    """
    units = panel.units[:, -periods:]
    ok = ~np.isnan(units) & ~panel.stockout[:, -periods:]
    count = ok.sum(axis=1)
    mean = np.where(ok, np.nan_to_num(units), 0.0).sum(axis=1) / np.maximum(count, 1)
    established = count >= min(min_count, periods)
    overall = float(np.median(mean[established])) if established.any() else 1.0
    levels = np.full(int(panel.category.max(initial=0)) + 1, overall)
    for value in np.unique(panel.category[established]):
        levels[value] = np.median(mean[established & (panel.category == value)])
    levels[0] = overall
    return levels.astype(np.float32)


class DemandForecaster:
    """Global quantile LSTM over a `Panel`; see the module docstring."""

    name = "lstm"  # the encoder's name once configured

    def __init__(
        self,
        config: DemandConfig | None = None,
        seed: int = 0,
        progress: Callable[[float, str], None] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.config = config or DemandConfig()
        self.name = self.config.encoder
        self.seed = seed
        self.progress = progress
        self.log = log
        self.state: dict = {}
        self.model: keras.Model | None = None

    # -- features ----------------------------------------------------------------

    def _levels_for(self, category: np.ndarray) -> np.ndarray:
        levels = np.asarray(self.state["levels"], np.float32)
        known = (category > 0) & (category < len(levels))
        return np.where(known, levels[np.where(known, category, 0)], levels[0])

    def _inputs(
        self,
        panel: Panel,
        rows: np.ndarray,
        starts: np.ndarray,
        calendar: np.ndarray | None = None,
    ) -> tuple[dict, np.ndarray]:
        """Return (model inputs, scale per window) for windows whose first forecast
        period is `starts` (index into history + horizon) of series `rows`."""
        lookback, horizon = self.state["lookback"], self.state["horizon"]
        calendar = panel.calendar() if calendar is None else calendar
        t = panel.n_periods
        total = t + panel.horizon
        # Left-pad so that every lookback exists, right-pad covariates to the horizon.
        pad_units = np.full((panel.n_series, lookback), np.nan, np.float32)
        units = np.concatenate([pad_units, panel.units.astype(np.float32)], axis=1)
        stockout = np.concatenate(
            [np.zeros_like(pad_units, bool), panel.stockout.astype(bool)], axis=1
        )
        covariates = {
            "rel": relative_price(panel.price, panel.base_price),
            "promo": np.nan_to_num(panel.promo.astype(np.float32)),
        }
        extra = max(0, starts.max(initial=0) + horizon - total)
        for key, value in covariates.items():
            value = np.pad(value, ((0, 0), (lookback, 0)))
            covariates[key] = np.pad(value, ((0, 0), (0, extra)), mode="edge")
        calendar = np.pad(calendar, ((lookback, extra), (0, 0)), mode="edge")

        past_cols = starts[:, None] + np.arange(lookback)[None, :]  # padded index
        future_cols = starts[:, None] + lookback + np.arange(horizon)[None, :]
        r = rows[:, None]
        past_units = units[r, past_cols]
        observed = ~np.isnan(past_units)
        censored = stockout[r, past_cols]
        clean = observed & ~censored
        prior = self._levels_for(panel.category[rows])
        w = self.config.prior_periods
        scale = (np.where(clean, past_units, 0).sum(1) + w * prior) / (clean.sum(1) + w)
        scale = np.maximum(scale, self.config.min_scale).astype(np.float32)
        scaled = np.log1p(np.nan_to_num(past_units) / scale[:, None])
        past = np.concatenate(
            [
                np.stack(
                    [
                        scaled,
                        censored,
                        observed,
                        covariates["rel"][r, past_cols],
                        covariates["promo"][r, past_cols],
                    ],
                    axis=-1,
                ),
                calendar[past_cols],
            ],
            axis=-1,
        )
        step = np.broadcast_to(
            (np.arange(horizon, dtype=np.float32) / horizon)[None, :],
            (len(rows), horizon),
        )
        future = np.concatenate(
            [
                np.stack(
                    [
                        covariates["rel"][r, future_cols],
                        covariates["promo"][r, future_cols],
                        step,
                    ],
                    axis=-1,
                ),
                calendar[future_cols],
            ],
            axis=-1,
        )
        category = panel.category[rows].astype(np.int32)
        category = np.where(category < self.state["n_categories"], category, 0)
        log_scale = (np.log(scale) - self.state["log_scale_mean"]) / self.state[
            "log_scale_std"
        ]
        inputs = {
            "past": past.astype(np.float32),
            "future": future.astype(np.float32),
            "category": category[:, None],
            "log_scale": log_scale[:, None].astype(np.float32),
        }
        return inputs, scale

    def _targets(self, panel, rows, starts, scale) -> np.ndarray:
        horizon = self.state["horizon"]
        cols = starts[:, None] + np.arange(horizon)[None, :]
        units = panel.units[rows[:, None], cols]
        observed = ~np.isnan(units)
        censored = panel.stockout[rows[:, None], cols] & observed
        target = np.nan_to_num(units) / scale[:, None]
        return np.stack([target, censored, observed], axis=-1).astype(np.float32)

    def _windows(self, panel: Panel, rng) -> tuple[np.ndarray, ...]:
        """Sample (rows, starts) of training and of validation windows.

        Validation windows forecast the last `horizon` periods of up to
        `max_validation_windows` series; training windows end before them. Only
        windows with at least one observed target period are kept.
        """
        c, horizon, t = self.config, self.state["horizon"], panel.n_periods
        observed = ~np.isnan(panel.units)
        launch = np.where(observed.any(1), observed.argmax(1), t)
        first = np.maximum(launch - horizon + 1, 0)
        last_train = t - 2 * horizon  # last start whose targets avoid validation
        n_train = np.maximum(last_train - first + 1, 0)
        if n_train.sum() < 2 * c.batch_size:
            last_train, n_train = t - horizon, np.maximum(t - horizon - first + 1, 0)
        per_series = int(np.ceil(c.max_windows / max(1, (n_train > 0).sum())))
        rows, starts = [], []
        for i in np.flatnonzero(n_train > 0):
            k = min(per_series, int(n_train[i]))
            offsets = rng.choice(int(n_train[i]), size=k, replace=False)
            rows.append(np.full(k, i))
            starts.append(first[i] + offsets)
        rows = np.concatenate(rows) if rows else np.zeros(0, int)
        starts = np.concatenate(starts) if starts else np.zeros(0, int)
        if len(rows) > c.max_windows:
            keep = rng.choice(len(rows), c.max_windows, replace=False)
            rows, starts = rows[keep], starts[keep]
        val_rows = np.flatnonzero(launch < t)
        if len(val_rows) > c.max_validation_windows:
            val_rows = rng.choice(val_rows, c.max_validation_windows, replace=False)
        val_starts = np.full(len(val_rows), t - horizon)
        return rows, starts, val_rows, val_starts

    # -- protocol ----------------------------------------------------------------

    def fit(self, panel: Panel) -> "DemandForecaster":
        """Train on windows of the panel's history; the model forecasts its horizon."""
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        started = time.monotonic()
        lookback = self.config.lookback or max(
            AUTO_LOOKBACK[panel.frequency], panel.horizon
        )
        if panel.n_periods <= panel.horizon:
            raise ValueError("the history must be longer than the horizon")
        self.state = {
            "lookback": lookback,
            "horizon": panel.horizon,
            "frequency": panel.frequency,
            "n_calendar": panel.calendar().shape[1],
            "n_categories": int(panel.category.max(initial=0)) + 1,
            "levels": category_levels(panel, lookback).tolist(),
            "log_scale_mean": 0.0,
            "log_scale_std": 1.0,
        }
        rows, starts, val_rows, val_starts = self._windows(panel, rng)
        if len(rows) == 0:
            raise ValueError("no series has enough history to train on")
        x, scale = self._inputs(panel, rows, starts)
        mean, std = float(np.log(scale).mean()), float(np.log(scale).std() + 1e-3)
        self.state.update(log_scale_mean=mean, log_scale_std=std)
        x["log_scale"] = ((np.log(scale) - mean) / std)[:, None].astype(np.float32)
        y = self._targets(panel, rows, starts, scale)
        val_x, val_scale = self._inputs(panel, val_rows, val_starts)
        val_y = self._targets(panel, val_rows, val_starts, val_scale)
        self._say(
            f"{len(rows)} training and {len(val_rows)} validation windows "
            f"(lookback {lookback}, horizon {panel.horizon})"
        )
        self.model = build(
            self.config,
            lookback=lookback,
            horizon=panel.horizon,
            n_calendar=self.state["n_calendar"],
            n_categories=self.state["n_categories"],
            seed=self.seed,
        )
        self.model.compile(
            optimizer=keras.optimizers.Adam(self.config.learning_rate, clipnorm=1.0),
            loss=censored_pinball,
        )
        result = fit_with_early_stopping(
            self.model,
            x,
            y,
            validation_data=(val_x, val_y),
            epochs=self.config.epochs,
            batch_size=self.config.batch_size,
            patience=self.config.patience,
            seed=self.seed,
            progress=self._sink(),
        )
        self.state.update(
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            best_val_loss=result.best_val_loss,
            training_windows=int(len(rows)),
            train_seconds=round(time.monotonic() - started, 1),
        )
        self._say(
            f"trained {result.epochs_run} epochs, best {result.best_epoch} "
            f"(validation pinball {result.best_val_loss:.4f})"
        )
        return self

    def predict(self, panel: Panel, *, calendar: np.ndarray | None = None):
        """Return P10/P50/P90 units [n_series, panel.horizon, 3] after the history.

        `calendar` replaces `panel.calendar()` (explanations hold the season flat).
        """
        if self.model is None:
            raise ValueError("fit the forecaster first")
        if panel.horizon > self.state["horizon"]:
            raise ValueError(
                f"the model forecasts {self.state['horizon']} periods, "
                f"not {panel.horizon}"
            )
        if panel.frequency != self.state["frequency"]:
            raise ValueError("the panel's frequency differs from the model's")
        rows = np.arange(panel.n_series)
        starts = np.full(panel.n_series, panel.n_periods)
        if panel.n_series == 0:
            return np.zeros((0, panel.horizon, 3), np.float32)
        x, scale = self._inputs(panel, rows, starts, calendar)
        out = np.concatenate(
            [
                self.model.predict_on_batch(
                    {k: v[i : i + PREDICT_BATCH] for k, v in x.items()}
                )
                for i in range(0, len(rows), PREDICT_BATCH)
            ]
        )
        forecast = np.asarray(out, np.float32) * scale[:, None, None]
        return forecast[:, : panel.horizon]

    def hyperparameters(self) -> dict:
        """The configuration and what training measured, for the model report."""
        measured = {
            key: self.state[key]
            for key in (
                "lookback",
                "epochs_run",
                "best_epoch",
                "best_val_loss",
                "training_windows",
                "train_seconds",
            )
            if key in self.state
        }
        return {**asdict(self.config), "seed": self.seed, **measured}

    def to_bytes(self) -> bytes:
        weights = self.model.get_weights()
        buffer = io.BytesIO()
        np.savez(
            buffer,
            algorithm=np.asarray(self.name),
            config=np.asarray(json.dumps(asdict(self.config))),
            state=np.asarray(json.dumps(self.state)),
            seed=np.asarray(self.seed),
            n_weights=np.asarray(len(weights)),
            **{f"weight_{i}": w for i, w in enumerate(weights)},
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "DemandForecaster":
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        forecaster = cls(
            DemandConfig(**json.loads(str(arrays["config"]))), int(arrays["seed"])
        )
        forecaster.state = json.loads(str(arrays["state"]))
        s = forecaster.state
        forecaster.model = build(
            forecaster.config,
            lookback=s["lookback"],
            horizon=s["horizon"],
            n_calendar=s["n_calendar"],
            n_categories=s["n_categories"],
            seed=forecaster.seed,
        )
        count = int(arrays["n_weights"])
        forecaster.model.set_weights([arrays[f"weight_{i}"] for i in range(count)])
        return forecaster

    # -- reporting ---------------------------------------------------------------

    def _say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    def _sink(self):
        if self.progress is None:
            return None

        def report(progress: Progress) -> None:
            self.progress(progress.percent / 100.0, progress.message)

        return report
