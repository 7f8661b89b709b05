"""Time and measure the Keras demand model on a synthetic daily panel (no Django).

    nice -n 10 .venv/bin/python bench/bench_forecast_demand_ml.py --series 10000 --days 730

The panel has weekly and yearly seasonality, a trend, a price elasticity and a
promotion lift per series, intermittent series, late launches and stock-outs (sales
recorded as zero, flagged). The last 28 days are held out, their prices and
promotions given as planned; the model's metrics (`forecasting.ml.metrics`, stock-out
days left out) are printed next to a seasonal-naive forecast's, with the training
and forecasting times. Progress goes to stderr, one JSON line to stdout.
"""

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from forecasting.ml.metrics import all_metrics  # noqa: E402
from forecasting.ml.panel import Panel  # noqa: E402


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def synthetic_panel(n_series: int, days: int, horizon: int = 28, seed: int = 0):
    """Return a daily Panel of `days` history periods and `horizon` planned ones."""
    rng = np.random.default_rng(seed)
    total = days + horizon
    t = np.arange(total)
    n_categories = 8
    category = rng.integers(1, n_categories + 1, n_series)
    category_level = rng.lognormal(1.0, 0.8, n_categories + 1)
    level = category_level[category] * rng.lognormal(0.0, 0.6, n_series)
    intermittent = rng.random(n_series) < 0.25
    level[intermittent] = rng.uniform(0.05, 0.5, intermittent.sum())
    trend = np.exp(rng.normal(0, 0.3, n_series)[:, None] * t / 365.0)
    weekly_shape = rng.normal(0, 0.25, (n_categories + 1, 7))
    weekly = np.exp(weekly_shape[category][:, (t + 3) % 7])
    phase = rng.uniform(0, 2 * np.pi, n_series)[:, None]
    yearly = 1 + 0.2 * np.sin(2 * np.pi * t / 365.0 + phase)

    base_price = rng.lognormal(2.5, 0.6, n_series)[:, None] * np.ones(total)
    change = rng.integers(days // 3, days, n_series)
    base_price[t[None, :] >= change[:, None]] *= 1.05
    promo = np.zeros((n_series, total))
    price = base_price.copy()
    for i in range(n_series):
        for begin in rng.choice(total - 7, size=max(1, total // 60), replace=False):
            span = slice(begin, begin + rng.integers(3, 8))
            if rng.random() < 0.6:
                promo[i, span] = 1.0
                price[i, span] *= 1 - rng.uniform(0.1, 0.3)
            else:
                price[i, span] *= 1 + rng.uniform(-0.15, 0.15)
    elasticity = -rng.uniform(1.0, 3.0, n_series)[:, None]
    lift = rng.uniform(0.3, 1.0, n_series)[:, None]
    demand = (
        level[:, None]
        * trend
        * weekly
        * yearly
        * (price / base_price) ** elasticity
        * (1 + lift * promo)
    )
    units = rng.poisson(demand * rng.gamma(5.0, 0.2, demand.shape)).astype(np.float32)
    history = units[:, :days]

    stockout = np.zeros((n_series, days), bool)
    for i in np.flatnonzero(rng.random(n_series) < 0.15):
        for begin in rng.choice(days - 10, size=3, replace=False):
            stockout[i, begin : begin + rng.integers(3, 11)] = True
    history[stockout] = 0.0
    late = rng.random(n_series) < 0.1
    launch = np.where(late, rng.integers(days // 2, days - horizon - 7, n_series), 0)
    history[t[None, :days] < launch[:, None]] = np.nan
    return Panel(
        units=history,
        stockout=stockout,
        price=price.astype(np.float32),
        base_price=base_price.astype(np.float32),
        promo=promo.astype(np.float32),
        category=category.astype(np.int32),
        start=date(2024, 1, 1),
        frequency="D",
        horizon=horizon,
    )


def seasonal_naive(panel: Panel) -> np.ndarray:
    """Repeat the last week; P10/P90 from the last 8 weeks' seasonal differences."""
    season, h = panel.season_length, panel.horizon
    history = np.nan_to_num(panel.units)
    last = history[:, -season:]
    p50 = np.tile(last, (1, h // season + 1))[:, :h]
    recent = history[:, -8 * season :]
    diffs = recent[:, season:] - recent[:, :-season]
    low, high = np.quantile(diffs, [0.1, 0.9], axis=1)
    forecast = np.stack([p50 + low[:, None], p50, p50 + high[:, None]], axis=-1)
    return np.sort(np.maximum(forecast, 0.0), axis=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--holdout", type=int, default=28)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=0, help="0: the default")
    parser.add_argument("--encoder", default="lstm", choices=("lstm", "gru", "conv"))
    parser.add_argument("--hidden", type=int, default=0, help="0: the default")
    parser.add_argument("--max-windows", type=int, default=0, help="0: the default")
    args = parser.parse_args()

    from dataclasses import replace

    from forecasting.ml.demand import DemandConfig, DemandForecaster

    started = time.monotonic()
    full = synthetic_panel(args.series, args.days, args.holdout, args.seed)
    train, actual = full.split(args.holdout)
    censored = full.stockout[:, -args.holdout :]
    log(f"panel {args.series} × {args.days} days in {time.monotonic() - started:.1f} s")

    config = DemandConfig(encoder=args.encoder)
    for name in ("epochs", "hidden", "max_windows"):
        if getattr(args, name):
            config = replace(config, **{name: getattr(args, name)})
    forecaster = DemandForecaster(
        config,
        seed=args.seed,
        log=log,
        progress=lambda fraction, message: log(f"{fraction:.0%} {message}"),
    )
    started = time.monotonic()
    forecaster.fit(train)
    train_seconds = time.monotonic() - started
    started = time.monotonic()
    forecast = forecaster.predict(train)
    predict_seconds = time.monotonic() - started

    history, season = train.units, train.season_length
    results = {
        "series": args.series,
        "days": args.days,
        "holdout": args.holdout,
        "train_seconds": round(train_seconds, 1),
        "predict_seconds": round(predict_seconds, 2),
        "hyperparameters": forecaster.hyperparameters(),
        args.encoder: all_metrics(history, actual, forecast, season, censored),
        "seasonal_naive": all_metrics(
            history, actual, seasonal_naive(train), season, censored
        ),
    }
    results["mase_ratio"] = round(
        results[args.encoder]["mase"] / results["seasonal_naive"]["mase"], 3
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
