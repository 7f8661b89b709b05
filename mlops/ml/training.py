"""The training loop every Keras model of the project shares.

It holds out a validation split, stops early when validation stops improving, keeps
the best weights (so that no overfitted model is served) and reports progress.
"""

import time
from dataclasses import dataclass

import keras
import numpy as np

from .progress import ProgressSink, ProgressTracker


class ProgressCallback(keras.callbacks.Callback):
    """Report epoch progress and ETA to a sink, throttled."""

    def __init__(self, sink: ProgressSink | None, epochs: int, interval: float = 1.0):
        super().__init__()
        self.tracker = ProgressTracker(sink, epochs, interval=interval)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(logs.items()))
        self.tracker.update(epoch + 1, f"epoch {epoch + 1}: {shown}")

    def on_train_end(self, logs=None):
        self.tracker.update(self.tracker.total_steps, "training finished", force=True)


class TimeBudget(keras.callbacks.Callback):
    """Stop before an epoch that would end after `seconds` of training, judged by
    the mean epoch so far (the best epoch's weights are still the ones kept)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.spent = False

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.monotonic() - self.started
        if elapsed * (epoch + 2) / (epoch + 1) > self.seconds:
            self.spent = True
            self.model.stop_training = True


@dataclass(frozen=True)
class FitResult:
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    history: dict[str, list[float]]
    budget_spent: bool = False  # stopped by the time budget, not by early stopping


def fit_with_early_stopping(
    model: keras.Model,
    x,
    y,
    *,
    validation_data=None,
    validation_fraction: float = 0.1,
    epochs: int = 50,
    batch_size: int = 256,
    patience: int = 5,
    seed: int = 0,
    progress: ProgressSink | None = None,
    sample_weight=None,
    verbose: int = 0,
    time_budget_s: float | None = None,
) -> FitResult:
    """Fit `model`, holding out a validation split unless one is given.

    Restore the weights of the epoch with the lowest validation loss. With
    `time_budget_s`, no epoch is started that would likely end after that many
    seconds (at least one always runs).
    """
    if validation_data is None:
        x, y, validation_data, sample_weight = _split(
            x, y, sample_weight, validation_fraction, seed
        )
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )
    budget = TimeBudget(time_budget_s) if time_budget_s else None
    history = model.fit(
        x,
        y,
        sample_weight=sample_weight,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=verbose,
        callbacks=[stopper, ProgressCallback(progress, epochs)]
        + ([budget] if budget else []),
    )
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    return FitResult(
        len(val_loss),
        best + 1,
        float(val_loss[best]),
        history.history,
        budget_spent=bool(budget and budget.spent),
    )


def _split(x, y, sample_weight, fraction, seed):
    n = len(y) if not isinstance(y, dict) else len(next(iter(y.values())))
    if not 0 < fraction < 1 or n < 2:
        raise ValueError(
            "A validation split needs 0 < fraction < 1 and at least 2 rows."
        )
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    val, train = order[:n_val], order[n_val:]

    def take(data, rows):
        if data is None:
            return None
        if isinstance(data, dict):
            return {key: np.asarray(value)[rows] for key, value in data.items()}
        return np.asarray(data)[rows]

    weight_val = take(sample_weight, val)
    validation = (take(x, val), take(y, val)) + (
        (weight_val,) if weight_val is not None else ()
    )
    return take(x, train), take(y, train), validation, take(sample_weight, train)
