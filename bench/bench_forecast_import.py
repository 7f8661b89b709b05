"""Demand forecasts end to end on Dominick's orange juice: import, train, serve, score.

    DATABASE_URL=sqlite:////tmp/oj.sqlite3 VAR_DIR=/tmp/oj-var \\
        .venv/bin/python bench/bench_forecast_import.py [--origins 1]

The path a shop takes: `import_products` (one product per store × brand, category
"Orange juice > brand N"), `import_sales` of weekly sales with the last 8 weeks' units
left empty (their prices and promotions kept: the shop's plan), then the `demand`
kind's training run (rolling-origin model selection on the history) and batch
inference, which serves P10/P50/P90 for those 8 weeks. The served forecast and every
candidate (each fitted on the same imported history) are then scored on the held-back
units: MASE, RMSSE, scaled pinball, P10–P90 coverage. Price elasticities by brand are
the served summaries' median. Prints one JSON line; skips without the data set.
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "dominicks-orange-juice" / "sales.csv"
HOLDOUT = 8
LIST_PRICE_WEEKS = 13


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_files(workdir: Path) -> tuple[Path, Path, dict, str]:
    """Write the product and sales CSVs; return them, held-back units, last week."""
    rows = list(csv.DictReader(DATA.open()))
    weeks = sorted({int(r["week"]) for r in rows})
    held_weeks = set(weeks[-HOLDOUT:])
    series = defaultdict(list)
    for r in rows:
        series[(int(r["store"]), int(r["brand"]))].append(r)
    products = workdir / "products.csv"
    sales = workdir / "sales.csv"
    held = {}
    with (
        products.open("w", newline="") as p_file,
        sales.open("w", newline="") as s_file,
    ):
        p_out, s_out = csv.writer(p_file), csv.writer(s_file)
        p_out.writerow(["sku", "name", "category", "price", "image"])
        s_out.writerow(["sku", "date", "units", "price", "base_price", "promo"])
        for (store, brand), history in sorted(series.items()):
            sku = f"OJ-{store}-{brand}"
            history.sort(key=lambda r: int(r["week"]))
            prices = [float(r["price_per_oz"]) * 64 for r in history]  # a 64 oz carton
            p_out.writerow(
                [
                    sku,
                    f"Orange juice {brand}, store {store}",
                    f"Orange juice > Brand {brand}",
                    f"{prices[-1]:.2f}",
                    "",
                ]
            )
            for i, r in enumerate(history):
                base = max(prices[max(0, i - LIST_PRICE_WEEKS + 1) : i + 1])
                promo = 0.5 * float(r["deal"]) + 0.5 * float(r["feature"])
                week = int(r["week"])
                units = r["units"]
                if week in held_weeks:
                    held[(sku, r["week_start"])] = float(units)
                    units = ""
                s_out.writerow(
                    [
                        sku,
                        r["week_start"],
                        units,
                        f"{prices[i]:.4f}",
                        f"{base:.4f}",
                        promo,
                    ]
                )
    last_history = max(
        r["week_start"] for r in rows if int(r["week"]) not in held_weeks
    )
    return products, sales, held, last_history


def fresh_forecaster(name: str, seed: int):
    """A new, unfitted forecaster of a candidate's algorithm name."""
    from forecasting.ml.baselines import (
        ExponentialSmoothing,
        GradientBoosting,
        MovingAverage,
        SeasonalNaive,
    )
    from forecasting.ml.demand import DemandForecaster
    from forecasting.ml.ensemble import Ensemble

    if name.startswith("moving-average"):
        return MovingAverage(window=int(name.rsplit("-", 1)[1]))
    makers = {
        "lstm+gradient-boosting": lambda: Ensemble(
            [DemandForecaster(seed=seed), GradientBoosting(seed=seed)], name
        ),
        "gradient-boosting": lambda: GradientBoosting(seed=seed),
        "seasonal-naive": SeasonalNaive,
        "exponential-smoothing": ExponentialSmoothing,
    }
    return makers[name]()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--origins", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not DATA.exists():
        print(json.dumps({"skipped": f"{DATA} not found"}))
        return 0
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from datetime import date

    from django.core.management import call_command

    from forecasting.history import sales_panel
    from forecasting.ml.metrics import all_metrics
    from forecasting.models import ForecastPoint, ForecastSummary
    from mlops.models import ModelVersion, Run, ServedBatch
    from mlops.runs import run_request

    workdir = Path(tempfile.mkdtemp(prefix="oj-bench-"))
    products, sales, held, last_history = write_files(workdir)
    timings = {}
    started = time.monotonic()
    call_command("import_products", str(products), "--no-progress", verbosity=0)
    call_command(
        "import_sales", str(sales), "--frequency", "W", "--no-progress", verbosity=0
    )
    timings["import_s"] = round(time.monotonic() - started, 1)
    log(f"imported in {timings['import_s']} s; {len(held)} held-back weeks × series")

    started = time.monotonic()
    train = run_request(
        kind="demand",
        type=Run.Type.TRAIN,
        options={"horizon": HOLDOUT, "origins": args.origins},
    )
    train.refresh_from_db()
    timings["train_s"] = round(time.monotonic() - started, 1)
    if train.state != Run.State.SUCCEEDED:
        print(json.dumps({"error": train.error}))
        return 1
    version = ModelVersion.objects.get(run=train)
    champion = ModelVersion.objects.get(kind="demand", status="champion")
    log(f"trained in {timings['train_s']} s; champion {champion.algorithm}")

    started = time.monotonic()
    infer = run_request(kind="demand", type=Run.Type.INFER, options={})
    infer.refresh_from_db()
    timings["infer_s"] = round(time.monotonic() - started, 1)
    batch = ServedBatch.objects.get(kind="demand", state="active")

    # every candidate, fitted on the same imported history, scored on the held weeks
    end = date.fromisoformat(last_history)
    data = sales_panel(frequency="W", end=end, horizon=HOLDOUT, periods=200)
    panel, skus = data.panel, data.product_ids
    from catalog.models import Product

    sku_of = dict(Product.objects.values_list("pk", "sku"))
    dates = [d.isoformat() for d in panel.future_dates()]
    actual = np.array(
        [[held.get((sku_of[pk], d), np.nan) for d in dates] for pk in skus.tolist()]
    )
    season = panel.season_length

    def score(forecast):
        return {
            k: round(v, 4)
            for k, v in all_metrics(panel.units, actual, forecast, season).items()
        }

    served = np.zeros((len(skus), HOLDOUT, 3))
    row_of = {pk: i for i, pk in enumerate(skus.tolist())}
    col_of = {d: h for h, d in enumerate(dates)}
    for pk, day, p10, p50, p90 in ForecastPoint.objects.filter(
        batch=batch, kind="demand"
    ).values_list("product_id", "period_start", "p10", "p50", "p90"):
        served[row_of[pk], col_of[day.isoformat()]] = (p10, p50, p90)
    results = {"served (" + champion.algorithm + ")": score(served)}
    calibration = version.protocol.get("interval_calibration", {})
    for candidate in [version.algorithm, *version.baselines]:
        started = time.monotonic()
        model = fresh_forecaster(candidate, args.seed)
        forecast = model.fit(panel).predict(panel)
        results[candidate] = score(forecast) | {
            "seconds": round(time.monotonic() - started, 1)
        }
        scale = calibration.get(candidate, {}).get("served_scale")
        if scale:  # the P10/P90 scale the candidate would serve with, as served
            from forecasting.ml.calibration import IntervalScale

            results[candidate]["calibrated"] = score(
                IntervalScale(*scale).apply(forecast)
            )
        log(f"{candidate}: {results[candidate]}")
    elasticity = defaultdict(list)
    for sku, value in ForecastSummary.objects.filter(
        batch=batch, elasticity__isnull=False
    ).values_list("product__sku", "elasticity"):
        elasticity[int(sku.rsplit("-", 1)[1])].append(value)
    print(
        json.dumps(
            {
                "series": int(panel.n_series),
                "holdout_weeks": HOLDOUT,
                "champion": champion.algorithm,
                "selection_metrics": {
                    version.algorithm: version.metrics,
                    **version.baselines,
                },
                "held_back": results,
                "elasticity_by_brand_median": {
                    b: round(float(np.median(v)), 3)
                    for b, v in sorted(elasticity.items())
                },
                **timings,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
