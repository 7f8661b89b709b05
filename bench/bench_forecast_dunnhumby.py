"""Demand forecasts on dunnhumby's Complete Journey, the path a shop takes.

    DATABASE_URL=sqlite:////tmp/dh.sqlite3 VAR_DIR=/tmp/dh-var nice -n 10 \\
        .venv/bin/python bench/bench_forecast_dunnhumby.py \\
        [--data ../shared/data/dunnhumby-complete-journey] [--min-weeks 20]

Real grocery baskets (a 75,000-line sample of 2017) aggregated to product-weeks in
the generic sales import format (`sku,date,units,price,base_price,promo`): units
the quantity sold, price what was paid per unit, the usual price what it would have
cost without the retailer's discount, promotion the share of units sold at a
discount. Week 1 (one day) and returns (quantity <= 0) are left out. Products sold in
at least `--min-weeks` of the 52 weeks are kept. The last 8 weeks are imported with
empty units and their prices and promotions (the plan; the last usual price where
nothing sold). Then `import_products`, `import_sales` (frequency detected),
`train demand`, `infer demand` and `export_forecasts` run as a user would run them,
and the exported forecast is scored on the held-back units (MASE, RMSSE, scaled
pinball, P10-P90 coverage), beside LightGBM, the project's gradient boosting and
AutoETS (statsmodels) fitted on the same imported history. Prints one JSON line.
"""

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "dunnhumby-complete-journey"
HOLDOUT = 8
LIST_PRICE_WEEKS = 13
FIRST_FULL_WEEK = 2  # week 1 is 2017-01-01 alone; week 2 starts Monday 2017-01-02
WEEK_2 = date(2017, 1, 2)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def product_weeks(data: Path, min_weeks: int):
    """Units, paid and usual price, promotion share per kept product and week."""
    import pandas as pd

    frame = pd.read_csv(data / "transactions.csv")
    frame = frame[(frame.week >= FIRST_FULL_WEEK) & (frame.quantity > 0)].copy()
    frame["usual"] = frame.sales_value + frame.retail_disc.abs()
    frame["promo_units"] = np.where(frame.retail_disc.abs() > 0, frame.quantity, 0.0)
    weekly = (
        frame.groupby(["product_id", "week"])
        .agg(
            units=("quantity", "sum"),
            paid=("sales_value", "sum"),
            usual=("usual", "sum"),
            promo_units=("promo_units", "sum"),
        )
        .reset_index()
    )
    weeks_sold = weekly.groupby("product_id").week.nunique()
    kept = weeks_sold[weeks_sold >= min_weeks].index
    weekly = weekly[weekly.product_id.isin(kept)]
    products = pd.read_csv(data / "products.csv").set_index("product_id")
    return weekly, products.reindex(kept)


def write_files(workdir: Path, weekly, products):
    """The product and sales CSVs; held-back units by (sku, date); last history week."""
    weeks = list(range(FIRST_FULL_WEEK, int(weekly.week.max()) + 1))
    held_weeks = set(weeks[-HOLDOUT:])
    start = {w: WEEK_2 + timedelta(days=7 * (w - FIRST_FULL_WEEK)) for w in weeks}
    products_csv, sales_csv = workdir / "products.csv", workdir / "sales.csv"
    held = {}
    by_product = dict(list(weekly.groupby("product_id")))
    with (
        products_csv.open("w", newline="") as p_file,
        sales_csv.open("w", newline="") as s_file,
    ):
        p_out, s_out = csv.writer(p_file), csv.writer(s_file)
        p_out.writerow(["sku", "name", "category", "price", "image"])
        s_out.writerow(["sku", "date", "units", "price", "base_price", "promo"])
        for pid, info in products.iterrows():
            rows = by_product[pid].set_index("week")
            sku = f"DH-{int(pid)}"
            usual = (rows.usual / rows.units).to_dict()
            paid = (rows.paid / rows.units).to_dict()
            category = f"{str(info.department).title()} > " + str(
                info.product_category
            ).title().replace(">", "/")
            last_paid = paid[max(paid)]
            p_out.writerow(
                [sku, str(info.product_type)[:200], category, f"{last_paid:.2f}", ""]
            )
            recent_usual = []
            for w in weeks:
                if w in usual:
                    recent_usual = (recent_usual + [usual[w]])[-LIST_PRICE_WEEKS:]
                if not recent_usual:
                    continue  # not on sale yet
                base = max(recent_usual)
                sold = w in rows.index
                price = paid[w] if sold else recent_usual[-1]
                promo = rows.promo_units[w] / rows.units[w] if sold else 0.0
                units = f"{rows.units[w]:g}" if sold else "0"
                if w in held_weeks:
                    held[(sku, start[w].isoformat())] = float(units)
                    units = ""
                elif not sold:
                    continue  # a week without a record after the first sale sold 0
                s_out.writerow(
                    [
                        sku,
                        start[w].isoformat(),
                        units,
                        f"{price:.4f}",
                        f"{base:.4f}",
                        f"{promo:.3f}",
                    ]
                )
    last_history = start[max(w for w in weeks if w not in held_weeks)]
    return products_csv, sales_csv, held, last_history


def peers(seed: int) -> dict:
    from forecasting.ml.baselines import GradientBoosting
    from forecasting.ml.peers import AutoETS, LightGBMForecaster

    return {
        "lightgbm": LightGBMForecaster(seed=seed),
        "gradient-boosting": GradientBoosting(seed=seed),
        "auto-ets": AutoETS(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--min-weeks", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    if not (args.data / "transactions.csv").exists():
        print(json.dumps({"bench": "forecast_dunnhumby", "skipped": str(args.data)}))
        return 0
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import Product
    from forecasting.history import sales_panel
    from forecasting.ml.metrics import all_metrics
    from mlops.models import ModelVersion

    workdir = Path(tempfile.mkdtemp(prefix="dh-bench-"))
    weekly, products = product_weeks(args.data, args.min_weeks)
    products_csv, sales_csv, held, last_history = write_files(workdir, weekly, products)
    log(f"{len(products)} products, {len(held)} held-back product-weeks")
    timings = {}

    def timed(name, *command):
        started = time.monotonic()
        out = StringIO()
        call_command(*command, stdout=out)
        timings[f"{name}_s"] = round(time.monotonic() - started, 1)
        log(f"{' '.join(map(str, command))}: {out.getvalue().strip()[-400:]}")
        return out.getvalue()

    call_command("migrate", verbosity=0)
    timed("import_products", "import_products", str(products_csv), "--no-progress")
    timed("import_sales", "import_sales", str(sales_csv), "--no-progress")
    timed(
        "train",
        "train",
        "demand",
        "--wait",
        "--options",
        json.dumps({"horizon": HOLDOUT}),
    )
    timed("infer", "infer", "demand", "--wait")
    export = workdir / "forecasts.csv"
    export_output = timed("export", "export_forecasts", str(export))
    version = (
        ModelVersion.objects.filter(kind="demand").order_by("pk").first()
    )  # the model
    champion = ModelVersion.objects.get(kind="demand", status="champion")

    data = sales_panel(frequency="W", end=last_history, horizon=HOLDOUT, periods=60)
    panel = data.panel
    sku_of = dict(Product.objects.values_list("pk", "sku"))
    skus = [sku_of[pk] for pk in data.product_ids.tolist()]
    dates = [d.isoformat() for d in panel.future_dates()]
    actual = np.array([[held.get((s, d), np.nan) for d in dates] for s in skus])
    served = np.full((len(skus), HOLDOUT, 3), np.nan)
    row_of, col_of = (
        {s: i for i, s in enumerate(skus)},
        {d: h for h, d in enumerate(dates)},
    )
    with export.open() as handle:
        for r in csv.DictReader(handle):
            if r["kind"] == "demand" and r["date"] in col_of:
                served[row_of[r["sku"]], col_of[r["date"]]] = (
                    float(r["p10"]),
                    float(r["p50"]),
                    float(r["p90"]),
                )
    scored = ~np.isnan(served).any(axis=(1, 2))

    def score(forecast):
        metrics = all_metrics(
            panel.units[scored], actual[scored], forecast[scored], panel.season_length
        )
        return {k: round(v, 4) for k, v in metrics.items()}

    results = {f"served ({champion.algorithm})": score(served)}
    for name, model in peers(args.seed).items():
        started = time.monotonic()
        forecast = model.fit(panel).predict(panel)
        results[name] = score(forecast) | {
            "seconds": round(time.monotonic() - started, 1)
        }
        log(f"{name}: {results[name]}")
    best = min(
        ("lightgbm", "gradient-boosting", "auto-ets"), key=lambda n: results[n]["mase"]
    )
    served_mase = results[f"served ({champion.algorithm})"]["mase"]
    result = {
        "bench": "forecast_dunnhumby",
        "products": int(len(skus)),
        "products_scored": int(scored.sum()),
        "held_back_weeks": HOLDOUT,
        "history_weeks": int(panel.n_periods),
        "champion": champion.algorithm,
        "model_candidate": version.algorithm,
        "selection": {version.algorithm: version.metrics, **version.baselines},
        "ensembles": version.protocol.get("ensembles"),
        "deep_model_vs_best_peer": version.protocol.get("deep_model_vs_best_peer"),
        "not_forecast": version.protocol.get("not_forecast"),
        "held_back": results,
        "goal": {
            "best_peer": best,
            "ratio": round(served_mase / results[best]["mase"], 4),
            "target_ratio": 0.95,
        },
        "export_message": export_output.strip().splitlines()[:3],
        **timings,
    }
    print(json.dumps(result))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
