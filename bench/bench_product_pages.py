"""Product pages at 50,000 products: p50/p95 of the storefront and admin product pages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pages \
        .venv/bin/python bench/bench_product_pages.py --products 50000

Fills the database like bench_admin.py (reused when already there), serves similar and
bought-together lists and 28-day demand and price forecasts for a random sample of
products, then fetches each sampled product's storefront page (as a signed-in
customer) and admin change page (as a superuser) once after a warm-up, and prints one
JSON line: p50/p95 milliseconds and the most queries a page took. Never part of the
test run.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from served_data import active_batch, serve_forecasts, serve_product_lists

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def serve_sample(product_ids: list[int], everything: list[int], rng) -> None:
    """Serve lists and forecasts for `product_ids` in fresh active batches."""
    lists = active_batch("recommender")
    serve_product_lists(lists, product_ids, everything, rng)
    serve_forecasts(product_ids)


def time_pages(client, urls: list[str]) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url in urls[:5]:  # warm-up
        client.get(url)
    timings, most_queries = [], 0
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        most_queries = max(most_queries, len(queries))
    timings.sort()
    return {
        "pages": len(urls),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 1),
        "max_queries": most_queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from bench_admin import bench_superuser, migrate_and_populate
    from django.conf import settings
    from django.test import Client, override_settings

    from accounts.models import User
    from catalog.models import Product

    migrate_and_populate(products=args.products, lines=args.lines, seed=args.seed)
    rng = random.Random(args.seed)
    active = list(
        Product.objects.filter(is_active=True).values_list("pk", "sku").order_by("pk")
    )
    sample = rng.sample(active, min(args.sample, len(active)))
    serve_sample([pk for pk, _ in sample], [pk for pk, _ in active], rng)

    admin = bench_superuser()
    shopper = User.objects.filter(username="bench-shopper").first() or (
        User.objects.create_user("bench-shopper", "shopper@example.com", None)
    )
    figures = {"products": Product.objects.count()}
    storages = {  # no collectstatic needed
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    with override_settings(ALLOWED_HOSTS=["testserver"], STORAGES=storages):
        customer = Client()
        customer.force_login(shopper)
        figures["storefront product page"] = time_pages(
            customer, [f"/products/{sku}/" for _, sku in sample]
        )
        staff = Client()
        staff.force_login(admin)
        figures["admin product page"] = time_pages(
            staff, [f"/admin/catalog/product/{pk}/change/" for pk, _ in sample]
        )
    print(json.dumps({"bench": "product pages", **figures}), flush=True)


if __name__ == "__main__":
    main()
