"""The demand kind at the issue's scale: 10,000 products with two years of daily sales.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_fscale \\
        .venv/bin/python bench/bench_forecast_scale.py [--products 10000 --days 730]

Writes a synthetic sales history (the demand-model bench's generator: weekly and yearly
season, trend, promotions with a price elasticity, intermittent series, stock-outs) as
SalesRecords with COPY, then times what the platform runs: the `demand` training run
(every candidate measured on a 28-day holdout, then refitted) and batch inference of
every product 28 days ahead, the database write included. Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    import django

    django.setup()
    from bench_forecast_demand_ml import synthetic_panel

    from catalog.models import Category, Product
    from forecasting.models import ForecastPoint, SalesRecord
    from mlops.bulk import bulk_insert
    from mlops.models import ModelVersion, Run
    from mlops.runs import run_request

    started = time.monotonic()
    panel = synthetic_panel(args.products, args.days, horizon=0, seed=0)
    categories = [
        Category.objects.create(name=f"Aisle {c}")
        for c in range(int(panel.category.max()) + 1)
    ]
    products = Product.objects.bulk_create(
        Product(
            sku=f"S{i:05d}",
            name=f"Product {i}",
            category=categories[int(panel.category[i])],
            price=Decimal(f"{float(panel.base_price[i, -1]):.2f}"),
            stock_tracked=False,
        )
        for i in range(panel.n_series)
    )
    dates = [panel.start + timedelta(days=d) for d in range(panel.n_periods)]

    def rows():
        for i, product in enumerate(products):
            units, out = panel.units[i], panel.stockout[i]
            price, base, promo = panel.price[i], panel.base_price[i], panel.promo[i]
            for d in np.flatnonzero(~np.isnan(units)).tolist():
                yield (
                    product.pk,
                    dates[d],
                    "D",
                    f"{units[d]:.3f}",
                    f"{price[d]:.4f}",
                    f"{base[d]:.4f}",
                    float(promo[d]),
                    bool(out[d]),
                    "import",
                )

    written = bulk_insert(
        SalesRecord,
        [
            "product",
            "period_start",
            "frequency",
            "units",
            "price",
            "base_price",
            "promo",
            "stockout",
            "source",
        ],
        rows(),
    )
    setup_s = time.monotonic() - started
    log(f"{written:,} sales records written in {setup_s:.0f} s")

    timings = {}
    for kind_type in (Run.Type.TRAIN, Run.Type.INFER):
        started = time.monotonic()
        run = run_request(kind="demand", type=kind_type, options={})
        run.refresh_from_db()
        timings[f"{kind_type}_s"] = round(time.monotonic() - started, 1)
        log(f"{kind_type}: {run.state} in {timings[f'{kind_type}_s']} s")
        if run.state != Run.State.SUCCEEDED:
            print(json.dumps({"error": run.error, **timings}))
            return 1
    version = ModelVersion.objects.filter(kind="demand").order_by("-pk").first()
    champion = ModelVersion.objects.get(kind="demand", status="champion")
    print(
        json.dumps(
            {
                "products": args.products,
                "days": args.days,
                "sales_records": written,
                "setup_s": round(setup_s, 1),
                **timings,
                "forecast_rows": ForecastPoint.objects.count(),
                "champion": champion.algorithm,
                "metrics": {version.algorithm: version.metrics, **version.baselines},
                "protocol_series": version.protocol.get("series"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
