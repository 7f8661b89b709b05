"""Benchmark generate_demo_store on the DATABASE_URL database; print one JSON line.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 \
        .venv/bin/python bench/bench_demo_store.py --customers 20000 --products 2000

The database must be migrated. A demo store already there is deleted first (timed
separately). Never part of the test run.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="Print progress too.")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from catalog.demo.world import StoreSpec
    from catalog.demo.writer import (
        demo_store_delete,
        demo_store_exists,
        demo_store_generate,
    )

    def progress(message: str) -> None:
        if args.verbose:
            print(message, file=sys.stderr)

    reset_seconds = 0.0
    if demo_store_exists():
        started = time.perf_counter()
        demo_store_delete(progress=progress)
        reset_seconds = time.perf_counter() - started
    spec = StoreSpec(
        seed=args.seed, customers=args.customers, products=args.products, days=args.days
    )
    started = time.perf_counter()
    report = demo_store_generate(
        spec=spec, progress=progress, with_images=not args.no_images
    )
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "bench": "demo_store",
                "database": connection.vendor,
                "sizes": {
                    "customers": args.customers,
                    "products": args.products,
                    "days": args.days,
                },
                "images": not args.no_images,
                "rows": report.rows,
                "counts": report.counts,
                "seconds": round(seconds, 2),
                "rows_per_second": round(report.rows / seconds),
                "reset_seconds": round(reset_seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
