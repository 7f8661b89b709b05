"""Demand and price forecasts on Dominick's orange juice (weekly store × brand sales).

    nice -n 10 .venv/bin/python bench/bench_forecast_dominicks.py [--origins 1]
        [--no-keras] [--output var/bench/forecast_dominicks.json]

Pure NumPy/pandas, no Django. Reads ../shared/data/dominicks-orange-juice/sales.csv
(`store,brand,week,week_start,units,price_per_oz,deal,feature`): one series per store
and brand, the list price is the highest price of the last 13 weeks, promotion is
0.5 × deal + 0.5 × feature, the category is the brand. The last 8 weeks' units are
held back, their prices and promotions given as planned; every demand model (the
baselines and, where `forecasting.ml.demand` exists, the Keras model) is scored on
them with `rolling_origin` (MASE, RMSSE, scaled pinball, P10–P90 coverage), each
model's P10/P90 calibrated on the 8 weeks before the scored ones (coverage and pinball
before and after are reported; `--calibration-origins N` pools N such 8-week windows,
0 scores the raw bands), and the
combinations of the Keras model with the tree models (`ENSEMBLES`) scored from their
members' forecasts; the served candidate is chosen as `train demand` chooses it (an
ensemble only where it beats each member). The goal is reported against the best of
LightGBM, the project's gradient boosting and AutoETS (statsmodels). `--every K` keeps
every K-th series (a bounded run on a busy machine). Price
forecasts are scored with nothing planned against the last price. Price elasticities
per brand come from a log-log regression of units on relative price (store fixed
effects) and from the served demand model's response to a 10% price cut. Prints
progress to stderr and one JSON line to stdout; skips cleanly without the data.
"""

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "dominicks-orange-juice" / "sales.csv"
HOLDOUT = 8
LIST_PRICE_WEEKS = 13
PEERS = ("lightgbm", "gradient-boosting", "auto-ets")  # the goal's reference


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_panel(path: Path):
    """The full panel (horizon 0) and the brand of each series."""
    import pandas as pd

    from forecasting.ml.panel import Panel

    frame = pd.read_csv(path)
    weeks = np.arange(frame.week.min(), frame.week.max() + 1)
    keys = frame[["store", "brand"]].drop_duplicates().sort_values(["store", "brand"])
    index = pd.MultiIndex.from_frame(keys)

    def grid(column):
        table = frame.pivot_table(
            index=["store", "brand"], columns="week", values=column
        )
        return table.reindex(index=index, columns=weeks).to_numpy(np.float64)

    units = grid("units")
    price = grid("price_per_oz")
    price = pd.DataFrame(price).ffill(axis=1).bfill(axis=1).to_numpy()
    base = (
        pd.DataFrame(price.T)
        .rolling(LIST_PRICE_WEEKS, min_periods=1)
        .max()
        .to_numpy()
        .T
    )
    promo = 0.5 * np.nan_to_num(grid("deal")) + 0.5 * np.nan_to_num(grid("feature"))
    first = frame.loc[frame.week == weeks[0], "week_start"].iloc[0]
    brands = keys.brand.to_numpy().astype(np.int32)
    panel = Panel(
        units=units.astype(np.float32),
        stockout=np.zeros(units.shape, dtype=bool),
        price=price.astype(np.float32),
        base_price=base.astype(np.float32),
        promo=promo.astype(np.float32),
        category=brands,
        start=date.fromisoformat(first),
        frequency="W",
        horizon=0,
    )
    return panel, brands


def demand_models(keras: bool) -> dict:
    from forecasting.ml.baselines import (
        ExponentialSmoothing,
        GradientBoosting,
        MovingAverage,
        SeasonalNaive,
    )
    from forecasting.ml.peers import AutoETS, LightGBMForecaster

    models = {
        "seasonal-naive": SeasonalNaive,
        "moving-average-4": lambda: MovingAverage(4),
        "moving-average-8": lambda: MovingAverage(8),
        "moving-average-13": lambda: MovingAverage(13),
        "exponential-smoothing": ExponentialSmoothing,
        "gradient-boosting": GradientBoosting,
        "lightgbm": LightGBMForecaster,
        "auto-ets": AutoETS,
    }
    if keras:
        try:
            from forecasting.ml.demand import DemandForecaster
        except ImportError as error:
            log(f"no Keras demand model ({error}); baselines only")
        else:
            models["lstm"] = lambda: DemandForecaster(log=log)
    return models


def keeping(make, kept: list):
    """A factory that also keeps each forecaster it builds (origin 0 comes first)."""

    def build():
        kept.append(make())
        return kept[-1]

    return build


def timed(make, name: str, seconds: dict):
    """A factory whose forecasters add their fit and predict time to `seconds`."""

    class Timed:
        def __init__(self):
            self.inner = make()

        def fit(self, panel):
            started = time.monotonic()
            self.inner.fit(panel)
            seconds[name] = seconds.get(name, 0.0) + time.monotonic() - started
            return self

        def predict(self, panel):
            started = time.monotonic()
            forecast = self.inner.predict(panel)
            seconds[name] = seconds.get(name, 0.0) + time.monotonic() - started
            return forecast

    return Timed


def regression_elasticities(panel, brands) -> dict[str, float]:
    """Per brand: slope of log units on log relative price, store fixed effects."""
    units = panel.units.astype(np.float64)
    rel = np.log(panel.price / panel.base_price)[:, : panel.n_periods].astype(float)
    out = {}
    for brand in np.unique(brands):
        rows = brands == brand
        y, x = np.log(units[rows]), rel[rows]
        ok = np.isfinite(y) & np.isfinite(x)
        y = np.where(ok, y, np.nan)
        x = np.where(ok, x, np.nan)
        y = y - np.nanmean(y, axis=1, keepdims=True)  # within-store
        x = x - np.nanmean(x, axis=1, keepdims=True)
        ok = np.isfinite(y) & np.isfinite(x)
        out[str(int(brand))] = float((x[ok] * y[ok]).sum() / (x[ok] ** 2).sum())
    return out


def model_elasticities(forecaster, train, brands, cut=0.10) -> dict[str, float]:
    """Per brand: Δlog P50 units / Δlog price for a 10% cut over the whole horizon."""
    from dataclasses import replace

    t = train.n_periods
    price = train.price.copy()
    price[:, t:] *= 1 - cut
    base = forecaster.predict(train)[..., 1].sum(axis=1)
    cheaper = forecaster.predict(replace(train, price=price))[..., 1].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_series = np.log(cheaper / base) / np.log(1 - cut)
    return {
        str(int(b)): float(
            np.nanmedian(per_series[(brands == b) & np.isfinite(per_series)])
        )
        for b in np.unique(brands)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--origins", type=int, default=1)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument(
        "--calibration-origins", type=int, default=1, help="0: raw bands"
    )
    parser.add_argument("--every", type=int, default=1, help="keep every K-th series")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if not args.data.exists():
        log(f"{args.data} is absent: skipped")
        print(json.dumps({"bench": "forecast_dominicks", "skipped": str(args.data)}))
        return
    sys.path.insert(0, str(ROOT))
    from forecasting.ml.ensemble import ENSEMBLES, ensemble_report, served_combination
    from forecasting.ml.evaluation import origin_panels, rolling_origin
    from forecasting.ml.price import LastPrice, PriceForecaster, price_metrics

    panel, brands = load_panel(args.data)
    if args.every > 1:
        rows = np.arange(0, panel.n_series, args.every)
        panel, brands = panel.select(rows), brands[rows]
    log(f"{panel.n_series} series × {panel.n_periods} weeks")
    fitted: dict[str, list] = {}
    seconds: dict[str, float] = {}
    models = demand_models(not args.no_keras)
    factories = {
        name: timed(keeping(make, fitted.setdefault(name, [])), name, seconds)
        for name, make in models.items()
    }
    ensembles = {
        name: members
        for name, members in ENSEMBLES.items()
        if all(m in factories for m in members)
    }
    scores = rolling_origin(
        panel,
        factories,
        HOLDOUT,
        args.origins,
        ensembles=ensembles,
        calibrate=args.calibration_origins,
    )
    report = scores.get("calibration", {}).get("report", {})
    demand = {}
    for name in (*models, *ensembles):
        demand[name] = scores[name] | report.get(name, {})
        demand[name]["seconds"] = round(seconds.get(name, 0.0), 1)
        log(f"{name}: {demand[name]}")
    protocol = scores["protocol"]
    served, members = served_combination(demand) if "lstm" in demand else (None, ())
    peers = [name for name in PEERS if name in demand]
    best_peer = min(peers, key=lambda n: demand[n]["mase"])
    candidates = [n for n in demand if n not in ensembles and n != "lstm"]
    if served is not None:
        candidates.append(served)
    serving = min(candidates, key=lambda n: demand[n]["mase"])  # the registry's gate
    goal = {
        "served": serving,
        "model_candidate": served,
        "best_peer": best_peer,
        "served_mase": demand[serving]["mase"],
        "best_peer_mase": demand[best_peer]["mase"],
        "ratio": round(demand[serving]["mase"] / demand[best_peer]["mase"], 4),
        "target_ratio": 0.95,
        "served_coverage_p10_p90": demand[serving].get("coverage_p10_p90"),
        "ensembles": ensemble_report(demand) if "lstm" in demand else {},
    }
    if "lstm" in demand:
        goal["lstm_vs_best_peer"] = round(
            demand["lstm"]["mase"] / demand[best_peer]["mase"], 4
        )
    log(f"goal: {goal}")
    best_baseline = min(
        (n for n in demand if n != "lstm" and n not in ensembles),
        key=lambda n: demand[n]["mase"],
    )
    for name in demand:
        demand[name]["mase_vs_gradient_boosting"] = round(
            demand[name]["mase"] / demand["gradient-boosting"]["mase"], 3
        )
    price = rolling_origin(
        panel,
        {"last-price": LastPrice, "price-forecast": PriceForecaster},
        HOLDOUT,
        args.origins,
        price_metrics,
        target="price",
        plans=False,
    )
    price.pop("protocol")
    train = next(origin_panels(panel, HOLDOUT, 1))[0]
    elasticities = {"regression": regression_elasticities(panel, brands)}
    for name in ("gradient-boosting", "lstm"):
        if fitted.get(name):
            elasticities[name] = model_elasticities(fitted[name][0], train, brands)
    result = {
        "bench": "forecast_dominicks",
        "protocol": protocol,
        "demand": demand,
        "best_baseline": best_baseline,
        "goal": goal,
        "series_kept": f"every {args.every}",
        "price": price,
        "elasticity_by_brand": elasticities,
    }
    line = json.dumps(result)
    print(line)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
