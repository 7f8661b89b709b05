"""Time the admin's busiest pages on a store of N products and M order lines.

    DATABASE_URL=sqlite:////tmp/admin.sqlite3 \
        .venv/bin/python bench/bench_admin.py --products 50000 --lines 200000

Migrates the database named by DATABASE_URL, fills it with bulk_create when it holds
no bench data yet (deterministic per --seed; reused on later runs), then fetches each
page with Django's test client as a superuser and prints one JSON line per page: the
median milliseconds of --repeat fetches (after one warm-up), the number of queries
and the slowest query. Never part of the test run.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000


def populate(*, products: int, lines: int, seed: int) -> None:
    """Bulk-create a store: categories, products with history, customers, orders."""
    from accounts.models import CustomerProfile, User
    from catalog.models import (
        Category,
        PriceChange,
        Product,
        ProductImage,
        StockMovement,
    )
    from forecasting.models import SalesRecord
    from orders.models import Order, OrderLine
    from recommender.models import BehaviourEvent

    rng = random.Random(seed)
    now = datetime(2026, 6, 1, tzinfo=UTC)

    def stamp(days: int = 730) -> datetime:
        return now - timedelta(seconds=rng.randrange(days * 86400))

    leaves = []
    for r in range(10):
        root = Category.objects.create(name=f"Department {r}")
        for c in range(8):
            child = Category.objects.create(name=f"Aisle {r}.{c}", parent=root)
            for leaf in range(6):
                leaves.append(
                    Category.objects.create(name=f"Shelf {r}.{c}.{leaf}", parent=child)
                )
    words = ["mug", "kettle", "lamp", "chair", "towel", "pan", "vase", "clock"]
    Product.objects.bulk_create(
        (
            Product(
                sku=f"BENCH-{i:06d}",
                name=f"{rng.choice(words).title()} {rng.choice(words)} {i}",
                category=rng.choice(leaves) if i % 20 else None,
                price=Decimal(rng.randrange(50, 20000)) / 100,
                stock_tracked=i % 10 != 5,
                stock_on_hand=rng.choice([0, 0, 3, 12, 40]),
            )
            for i in range(products)
        ),
        batch_size=BATCH,
    )
    product_ids = list(Product.objects.values_list("pk", flat=True))
    heavy = product_ids[0]  # a product with a long history, for its change page
    ProductImage.objects.bulk_create(
        (
            ProductImage(
                product_id=pk,
                image=f"products/bench/{pk}.jpg",
                thumbnail=f"products/bench/thumbs/{pk}-{n}.jpg",
                width=800,
                height=600,
                format="JPEG",
                size_bytes=50_000,
                checksum=f"{pk:032d}{n:032d}",
                position=n,
            )
            for pk in product_ids
            for n in range(20 if pk == heavy else (1 if pk % 5 else 0))
        ),
        batch_size=BATCH,
    )
    PriceChange.objects.bulk_create(
        (
            PriceChange(
                product_id=pk,
                price=Decimal(rng.randrange(50, 20000)) / 100,
                source=rng.choice(["import", "manual", "competitor"]),
                effective_at=stamp(),
            )
            for pk in product_ids
            for _ in range(500 if pk == heavy else 2)
        ),
        batch_size=BATCH,
    )
    StockMovement.objects.bulk_create(
        (
            StockMovement(
                product_id=pk,
                kind="restock",
                quantity=5,
                balance_after=5 * (n + 1),
                reference=f"PO-{n}",
                occurred_at=stamp(),
            )
            for pk in product_ids
            for n in range(5000 if pk == heavy else 4)
        ),
        batch_size=BATCH,
    )
    customers = max(lines // 10, 100)
    User.objects.bulk_create(
        (
            User(
                username=f"bench{i:07d}",
                email=f"bench{i:07d}@example.com",
                external_id=f"C{i:07d}",
                password="!",
                date_joined=stamp(),
            )
            for i in range(customers)
        ),
        batch_size=BATCH,
    )
    user_ids = list(User.objects.values_list("pk", flat=True))
    CustomerProfile.objects.bulk_create(
        (CustomerProfile(user_id=pk, country="United Kingdom") for pk in user_ids),
        batch_size=BATCH,
    )
    orders = lines // 5
    Order.objects.bulk_create(
        (
            Order(
                number=f"B{i:09d}",
                customer_id=rng.choice(user_ids) if i % 10 else None,
                status=rng.choice(["paid", "shipped", "completed"]),
                source="import",
                placed_at=stamp(),
                total=Decimal("50.00"),
            )
            for i in range(orders)
        ),
        batch_size=BATCH,
    )
    order_ids = list(Order.objects.values_list("pk", flat=True))

    def order_lines():
        for n, order_id in enumerate(order_ids):
            count = 60 if n == 0 else 5  # one large order for its change page
            for number in range(1, count + 1):
                yield OrderLine(
                    order_id=order_id,
                    line_number=number,
                    product_id=rng.choice(product_ids),
                    quantity=rng.randint(1, 4),
                    unit_price=Decimal("10.00"),
                )

    OrderLine.objects.bulk_create(order_lines(), batch_size=BATCH)
    BehaviourEvent.objects.bulk_create(
        (
            BehaviourEvent(
                kind=rng.choice(["view", "view", "add_to_cart", "purchase"]),
                customer_id=rng.choice(user_ids),
                product_id=rng.choice(product_ids),
                occurred_at=stamp(),
            )
            for _ in range(lines)
        ),
        batch_size=BATCH,
    )
    start = now.date() - timedelta(weeks=52)
    SalesRecord.objects.bulk_create(
        (
            SalesRecord(
                product_id=pk,
                period_start=start + timedelta(weeks=w),
                frequency="W",
                units=Decimal(rng.randrange(0, 30)),
                price=Decimal("10.00"),
            )
            for pk in product_ids[: max(lines // 52, 1)]
            for w in range(52)
        ),
        batch_size=BATCH,
    )


def pages() -> list[tuple[str, str]]:
    """Return (label, URL) of the pages to time."""
    from django.urls import reverse

    from catalog.models import Category, Product
    from orders.models import Order

    heavy = Product.objects.order_by("pk").first()
    root = Category.objects.filter(depth=0).order_by("path").first()
    big_order = Order.objects.filter(number="B000000000").first()
    year = Order.objects.order_by("-placed_at").first().placed_at.year
    products = reverse("admin:catalog_product_changelist")
    orders = reverse("admin:orders_order_changelist")
    autocomplete = reverse("admin:autocomplete")
    return [
        ("product list", products),
        ("product list, search", f"{products}?q=kettle"),
        ("product list, category tree", f"{products}?category={root.pk}"),
        ("product list, out of stock", f"{products}?stock=out"),
        ("product list, page 500", f"{products}?p=500"),
        ("product list, sort by stock", f"{products}?o=6"),
        (
            "product change (20 images, 500 prices, 5000 moves)",
            reverse("admin:catalog_product_change", args=[heavy.pk]),
        ),
        (
            "stock movement form",
            reverse("admin:catalog_product_stock_movement", args=[heavy.pk]),
        ),
        ("category list", reverse("admin:catalog_category_changelist")),
        ("image list", reverse("admin:catalog_productimage_changelist")),
        ("price change list", reverse("admin:catalog_pricechange_changelist")),
        ("stock ledger list", reverse("admin:catalog_stockmovement_changelist")),
        (
            "stock ledger of one product",
            reverse("admin:catalog_stockmovement_changelist") + f"?product={heavy.pk}",
        ),
        ("order list", orders),
        ("order list, search e-mail", f"{orders}?q=bench0000042@example.com"),
        ("order list, search number", f"{orders}?q=B000123456"),
        ("order list, search part of number", f"{orders}?q=0012345"),
        ("order list, year", f"{orders}?placed_at__year={year}"),
        ("order list, status shipped", f"{orders}?status__exact=shipped"),
        (
            "order change (60 lines)",
            reverse("admin:orders_order_change", args=[big_order.pk]),
        ),
        ("order line list", reverse("admin:orders_orderline_changelist")),
        ("user list", reverse("admin:accounts_user_changelist")),
        ("profile list", reverse("admin:accounts_customerprofile_changelist")),
        ("event list", reverse("admin:recommender_behaviourevent_changelist")),
        (
            "event list, search SKU",
            reverse("admin:recommender_behaviourevent_changelist") + "?q=BENCH-012345",
        ),
        ("sales record list", reverse("admin:forecasting_salesrecord_changelist")),
        (
            "product autocomplete",
            f"{autocomplete}?app_label=orders&model_name=orderline"
            "&field_name=product&term=kettle",
        ),
    ]


def migrate_and_populate(*, products: int, lines: int, seed: int) -> None:
    """Migrate the database and fill it once (a filled one is reused as it is)."""
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import Product

    call_command("migrate", verbosity=0, skip_checks=True)
    if Product.objects.filter(sku__startswith="BENCH-").exists():
        return
    began = time.perf_counter()
    populate(products=products, lines=lines, seed=seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"populated in {time.perf_counter() - began:.1f}s", file=sys.stderr)


def bench_superuser():
    """Return the superuser the benches sign in as, creating it once."""
    from accounts.models import User

    return User.objects.filter(username="bench-admin").first() or (
        User.objects.create_superuser("bench-admin", "admin@example.com", None)
    )


def time_page(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    return {
        "ms": round(statistics.median(timings), 1),
        "queries": len(queries),
        "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
        "slowest_query": slowest["sql"][:160],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client, override_settings

    migrate_and_populate(products=args.products, lines=args.lines, seed=args.seed)
    admin = bench_superuser()
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    with override_settings(STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        client = Client()
        client.force_login(admin)
        for label, url in pages():
            result = time_page(client, url, args.repeat)
            print(json.dumps({"page": label, "database": connection.vendor, **result}))


if __name__ == "__main__":
    main()
