"""`import_orders` at a shop's scale against a raw COPY of the same file, same run.

    createdb -h 127.0.0.1 -U postgres imp_scale
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/imp_scale \
        .venv/bin/python bench/bench_import_scale.py --shape shop --lines 1000000

Two shapes of generic order file (`order_id,customer_id,sku,quantity,unit_price,
ordered_at`), deterministic per --seed and reused when already written:

- `shop`: a real shop's proportions, 1,000,000 lines from 96,422 customers in 333,713
  orders over 10,000 products (3 lines an order; scaled with --lines);
- `bench`: `bench_import_orders.py`'s, a customer per 40 lines, 6 lines an order.

Needs an empty PostgreSQL database (DATABASE_URL). First COPYs the file, as text
columns typed like the import's, into one table with an index on the order number
(the floor any import of this file is measured against), then runs `import_orders`
with the parts of each batch timed: reading and parsing, customers (the erased-customer
look-up and the creation of users and profiles within it), products, orders, lines,
the planner statistics refresh, each batch's commit (where PostgreSQL checks the
deferred foreign keys of the rows written). One JSON line.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {
    # customers per line, lines per order, products (at 1,000,000 lines)
    "shop": (96_422 / 1_000_000, 1_000_000 / 333_713, 10_000),
    "bench": (1 / 40, 6.0, 10_000),
}
SECONDS: dict[str, float] = defaultdict(float)
# The parts of OrderImporter.write, each timed once (the "customers: …" ones are
# inside "customers").
WRITE_PARTS = (
    "customers",
    "products",
    "orders",
    "lines",
    "order totals of grown orders",
    "statistics after batches",
)


def generate(path: Path, *, shape: str, lines: int, seed: int) -> None:
    """Write the file: orders of 1 to 2×mean−1 lines, 1 in 10 by a guest."""
    per_line, lines_per_order, products_at_1m = SHAPES[shape]
    rng = random.Random(seed)
    customers = max(round(lines * per_line), 10)
    products = max(round(products_at_1m * min(1.0, lines / 1_000_000)), 10)
    longest = max(1, round(2 * lines_per_order - 1))
    prices = [f"{rng.uniform(0.5, 80):.2f}" for _ in range(products)]
    start = datetime(2023, 1, 1, 8, 0, 0)
    written = order = 0
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w") as handle:
        handle.write("order_id,customer_id,sku,quantity,unit_price,ordered_at\n")
        while written < lines:
            order += 1
            customer = "" if rng.random() < 0.1 else f"C{rng.randrange(customers):07d}"
            stamp = (start + timedelta(seconds=order * 37)).isoformat()
            for _ in range(min(rng.randint(1, longest), lines - written)):
                product = rng.randrange(products)
                handle.write(
                    f"B{order:09d},{customer},BENCH-{product:06d},"
                    f"{rng.randint(1, 5)},{prices[product]},{stamp}\n"
                )
                written += 1
    partial.replace(path)


def raw_copy(path: Path) -> float:
    """COPY the file into one indexed table; return the seconds (table dropped)."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_raw_order_lines (order_id varchar(64), "
            "customer_id varchar(64), sku varchar(64), quantity integer, "
            "unit_price numeric(12, 2), ordered_at timestamptz)"
        )
        cursor.execute("CREATE INDEX ON bench_raw_order_lines (order_id)")
        statement = "COPY bench_raw_order_lines FROM STDIN (FORMAT csv, HEADER true)"
        with cursor.copy(statement) as copy, path.open("rb") as source:
            while block := source.read(1 << 20):
                copy.write(block)
    seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_order_lines")
    return seconds


@contextmanager
def timed_parts():
    """Time the parts of an order import into SECONDS while inside."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    import ecomsite.importing as importing
    import orders.importers as importers

    targets = [
        (importers.OrderImporter, "parse", "parse"),
        (importers.OrderImporter, "write", "write"),
        (importers.OrderImporter, "_ensure_customers", "customers"),
        (importers.OrderImporter, "_erased_among", "customers: erased look-up"),
        (importers.OrderImporter, "_create_customers", "customers: create"),
        (importers.OrderImporter, "_ensure_products", "products"),
        (importers.OrderImporter, "_ensure_orders", "orders"),
        (importers, "insert_order_lines", "lines"),
        (importers, "orders_recalculate_totals", "order totals of grown orders"),
        (importing.GrowthAnalyzer, "batch_written", "statistics after batches"),
        (importing.GrowthAnalyzer, "finish", "statistics at the end"),
        (BaseDatabaseWrapper, "commit", "commit (deferred foreign-key checks)"),
    ]
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in targets]
    for owner, name, part in targets:
        function = owner.__dict__[name]
        if isinstance(function, staticmethod):
            setattr(owner, name, staticmethod(_timer(part, function.__func__)))
        else:
            setattr(owner, name, _timer(part, function))
    try:
        yield SECONDS
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


def _timer(part: str, function):
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[part] += time.perf_counter() - began

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="shop")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")):
        sys.exit("set DATABASE_URL to an empty PostgreSQL database")
    path = args.folder / f"bench_import_{args.shape}_{args.lines}_{args.seed}.csv"
    if not path.exists():
        generate(path, shape=args.shape, lines=args.lines, seed=args.seed)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.management import call_command

    from ecomsite.importing import ImportOptions
    from orders.importers import import_orders
    from orders.models import Order

    call_command("migrate", verbosity=0, skip_checks=True)
    if Order.objects.exists():
        sys.exit("the database already holds orders: use an empty one")
    copy_s = raw_copy(path)
    options = ImportOptions(
        progress=False, rejects_path=path.with_name(path.name + ".rejects.csv")
    )
    with timed_parts() as parts:
        began = time.perf_counter()
        summary = import_orders(path, file_format="generic", options=options)
        import_s = time.perf_counter() - began
    in_write = sum(parts[p] for p in WRITE_PARTS)
    result = {
        "bench": "import_scale",
        "shape": args.shape,
        "lines": summary.rows_read,
        "created": dict(summary.created),
        "rejected": summary.rejected,
        "raw_copy_s": round(copy_s, 2),
        "import_s": round(import_s, 2),
        "ratio_to_copy": round(import_s / copy_s, 2),
        "parts_s": {p: round(s, 2) for p, s in sorted(parts.items())},
        "reading_csv_and_batching_s": round(
            import_s
            - parts["parse"]
            - parts["write"]
            - parts["statistics at the end"]
            - parts["commit (deferred foreign-key checks)"],
            2,
        ),
        "write_other_s": round(parts["write"] - in_write, 2),
        "load_avg": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
