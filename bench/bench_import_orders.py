"""Time `import_orders` on a synthetic generic-format file of N order lines.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/imp_scratch \
        .venv/bin/python bench/bench_import_orders.py --lines 1000000

Generates the file (deterministic per --seed; reused when it already exists), migrates
the database named by DATABASE_URL, imports the file and prints one JSON line with
the lines, seconds and rows per second. `--rerun` imports the file a second time and
times that too (it must add nothing). Runs with DEBUG off so that queries are not
logged.
"""

import argparse
import csv
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(path: Path, *, lines: int, seed: int) -> None:
    """Write `lines` order lines: ~6 lines per order, 1 in 10 orders by a guest."""
    rng = random.Random(seed)
    customers = max(lines // 40, 10)
    products = max(min(lines // 100, 20_000), 10)
    prices = [f"{rng.uniform(0.5, 80):.2f}" for _ in range(products)]
    start = datetime(2023, 1, 1, 8, 0, 0)
    written = order = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_at"]
        )
        while written < lines:
            order += 1
            guest = rng.random() < 0.1
            customer = "" if guest else f"C{rng.randrange(customers):07d}"
            placed = start + timedelta(seconds=order * 37)
            stamp = placed.isoformat()
            for _ in range(min(rng.randint(1, 11), lines - written)):
                product = rng.randrange(products)
                writer.writerow(
                    [
                        f"B{order:09d}",
                        customer,
                        f"BENCH-{product:06d}",
                        rng.randint(1, 5),
                        prices[product],
                        stamp,
                    ]
                )
                written += 1
    partial.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--file", type=Path, help="default: /tmp/bench_orders_N.csv")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--rerun", action="store_true", help="time a second run too")
    args = parser.parse_args()

    path = args.file or Path(f"/tmp/bench_orders_{args.lines}_{args.seed}.csv")
    if not path.exists():
        began = time.perf_counter()
        generate(path, lines=args.lines, seed=args.seed)
        print(
            f"generated {path} in {time.perf_counter() - began:.1f}s", file=sys.stderr
        )

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ecomsite.importing import ImportOptions
    from orders.importers import import_orders

    call_command("migrate", verbosity=0, skip_checks=True)
    options = ImportOptions(
        batch_size=args.batch_size,
        progress=False,
        rejects_path=path.with_name(path.name + ".rejects.csv"),
    )
    runs = ["first", "second"] if args.rerun else ["first"]
    for run in runs:
        began = time.perf_counter()
        summary = import_orders(path, file_format="generic", options=options)
        seconds = time.perf_counter() - began
        print(
            json.dumps(
                {
                    "bench": "import_orders",
                    "run": run,
                    "database": connection.vendor,
                    "lines": summary.rows_read,
                    "imported": summary.imported,
                    "already_present": summary.already_present,
                    "rejected": summary.rejected,
                    "created": dict(summary.created),
                    "seconds": round(seconds, 2),
                    "rows_per_second": round(summary.rows_read / seconds),
                }
            )
        )


if __name__ == "__main__":
    main()
