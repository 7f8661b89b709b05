"""Load test: gunicorn on loopback over PostgreSQL, many clients at once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load \
        .venv/bin/python bench/bench_load.py --clients 50 --seconds 60

1. Fills the (PostgreSQL) database once: products with stock, customers with API
   tokens, a served recommender batch (20 per customer, 20 similar and 20 bought
   together per product) and served demand/price forecasts (28 days).
2. Starts gunicorn (production settings over plain HTTP on 127.0.0.1), warms its
   workers up for five seconds, and runs
   `--clients` concurrent clients for `--seconds` over the product, similar,
   bought-together, "for you" and forecast endpoints, each client pausing `--think`
   seconds between requests as a shop front end would. Reports requests, errors and
   latency percentiles per endpoint.
3. 200 customers try at the same moment to buy one of the last 10 units of a product:
   exactly 10 orders must result.

Prints one JSON line per figure. The API rate limits are lifted for the run (a load
test from one address would hit them); everything else is the production set-up.
"""

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

from served_data import (
    active_batch,
    serve_customer_lists,
    serve_forecasts,
    serve_product_lists,
)

ROOT = Path(__file__).resolve().parent.parent
BATCH = 5000
SERVED_LISTS = ("similar", "bought-together", "for-you")


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    import django

    django.setup()


def token_key(username: str) -> str:
    """The load users' API keys: derived from the name, since only digests are
    stored (knox)."""
    return hashlib.sha256(f"load-bench-{username}".encode()).hexdigest()


def populate(*, products: int, customers: int, seed: int) -> None:
    """Bulk-create the store, once per database."""
    from knox.crypto import hash_token
    from knox.models import AuthToken

    from accounts.models import User
    from catalog.models import Category, Product

    if Product.objects.filter(sku__startswith="LOAD-").exists():
        return
    rng = random.Random(seed)
    categories = [Category.objects.create(name=f"Load category {i}") for i in range(20)]
    Product.objects.bulk_create(
        (
            Product(
                sku=f"LOAD-{i:06d}",
                name=f"Load product {i}",
                category=categories[i % len(categories)],
                price=Decimal(rng.randrange(100, 10000)) / 100,
                stock_tracked=True,
                stock_on_hand=1_000_000,
            )
            for i in range(products)
        ),
        batch_size=BATCH,
    )
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    User.objects.bulk_create(
        (
            User(username=f"load{i}", email=f"load{i}@example.com")
            for i in range(customers)
        ),
        batch_size=BATCH,
    )
    users = list(User.objects.filter(username__startswith="load"))
    users.append(
        User.objects.create(username="loadstaff", is_staff=True, is_superuser=True)
    )
    AuthToken.objects.bulk_create(
        AuthToken(
            user=user,
            digest=hash_token(token_key(user.username)),
            token_key=token_key(user.username)[:15],
        )
        for user in users
    )

    lists = active_batch("recommender")
    non_staff = [user for user in users if not user.is_staff]
    serve_customer_lists(lists, non_staff, product_ids, rng)
    serve_product_lists(lists, product_ids, product_ids, rng)
    serve_forecasts(product_ids)


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecomsite.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PSEUDONYM_KEY": os.environ.get("PSEUDONYM_KEY", "bench-pseudonym-key"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "API_THROTTLE_USER": "100000000/minute",
        "API_THROTTLE_ANON": "100000000/minute",
        "API_THROTTLE_ORDERS": "100000000/minute",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "ecomsite.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if fetch(f"http://127.0.0.1:{port}/api/v1/products/", "")[0]:
            return server
        time.sleep(0.5)
    server.kill()
    raise SystemExit("gunicorn did not answer within 60 s")


def fetch(url: str, token: str, data: bytes | None = None) -> tuple[int, float]:
    """One request on a fresh connection (gunicorn's sync workers close each one)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    start = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST" if data else "GET", path, body=data, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, (time.perf_counter() - start) * 1000


def client_process(args) -> list[tuple[str, int, float]]:
    """Run `threads` clients until `stop_at`; return (endpoint, status, ms) per request."""
    base, tokens, staff_token, skus, threads, stop_at, think, seed = args
    results: list[tuple[str, int, float]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        token = tokens[number % len(tokens)]
        mine = []
        # Start within one think time, as arriving shoppers do, not all at once.
        time.sleep(rng.uniform(0, think))
        while time.time() < stop_at:
            sku = rng.choice(skus)
            endpoint = rng.choice(
                ["product", "similar", "bought-together", "for-you", "forecast"]
            )
            path, auth = {
                "product": (f"/api/v1/products/{sku}/", token),
                "similar": (f"/api/v1/products/{sku}/similar/", token),
                "bought-together": (f"/api/v1/products/{sku}/bought-together/", token),
                "for-you": ("/api/v1/me/recommendations/", token),
                "forecast": (f"/api/v1/products/{sku}/forecast/", staff_token),
            }[endpoint]
            status, ms = fetch(base + path, auth)
            mine.append((endpoint, status, ms))
            time.sleep(think * rng.uniform(0.5, 1.5))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def report(results, seconds: float) -> dict:
    groups = {
        "all": results,
        "served lists": [r for r in results if r[0] in SERVED_LISTS],
    }
    for endpoint in ["product", "similar", "bought-together", "for-you", "forecast"]:
        groups[endpoint] = [r for r in results if r[0] == endpoint]
    figures = {}
    for name, rows in groups.items():
        times = [ms for _, _, ms in rows]
        figures[name] = {
            "requests": len(rows),
            "per_second": round(len(rows) / seconds, 1),
            "errors": sum(1 for _, status, _ in rows if status != 200),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
        }
        print(json.dumps({"bench": "load", "endpoint": name, **figures[name]}))
    return figures


def checkout_race(base: str, buyers: int, units: int) -> dict:
    """`buyers` customers each order one of a product's last `units` units at once."""
    from django.db.models import Sum

    from accounts.models import User
    from catalog.models import Product
    from orders.models import OrderLine

    product = Product.objects.get(sku="LOAD-000000")
    OrderLine.objects.filter(product=product).delete()
    Product.objects.filter(pk=product.pk).update(stock_on_hand=units)
    tokens = [
        token_key(username)
        for username in User.objects.filter(username__startswith="load", is_staff=False)
        .order_by("pk")
        .values_list("username", flat=True)[:buyers]
    ]
    body = json.dumps({"lines": [{"sku": product.sku, "quantity": 1}]}).encode()
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []

    def buy(token: str) -> None:
        barrier.wait()
        statuses.append(fetch(f"{base}/api/v1/orders/", token, body)[0])

    threads = [threading.Thread(target=buy, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    product.refresh_from_db()
    sold = OrderLine.objects.filter(product=product).aggregate(n=Sum("quantity"))["n"]
    return {
        "bench": "checkout race",
        "buyers": len(tokens),
        "units": units,
        "created": statuses.count(201),
        "refused_409": statuses.count(409),
        "other": len(statuses) - statuses.count(201) - statuses.count(409),
        "units_sold": sold or 0,
        "stock_left": product.stock_on_hand,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")
    setup_django()
    from django.core.management import call_command

    from accounts.models import User
    from catalog.models import Product

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    populate(products=args.products, customers=args.customers, seed=args.seed)
    print(
        json.dumps(
            {"bench": "load setup", "seconds": round(time.perf_counter() - started, 1)}
        )
    )
    skus = list(
        Product.objects.filter(sku__startswith="LOAD-").values_list("sku", flat=True)
    )
    tokens = [
        token_key(username)
        for username in User.objects.filter(
            username__startswith="load", is_staff=False
        ).values_list("username", flat=True)
    ]
    staff_token = token_key("loadstaff")
    from django.db import connections

    connections.close_all()  # no connection crosses into the client processes
    server = start_server(args.port, args.workers)
    base = f"http://127.0.0.1:{args.port}"
    try:
        # Warm every worker up (lazy imports, first connection) before measuring.
        warm_up = (base, tokens, staff_token, skus, 8, time.time() + 5, 0.0, 99)
        client_process(warm_up)
        stop_at = time.time() + args.seconds
        per_process = -(-args.clients // args.processes)
        jobs = [
            (base, tokens, staff_token, skus, per_process, stop_at, args.think, seed)
            for seed in range(args.processes)
        ]
        with multiprocessing.get_context("fork").Pool(args.processes) as pool:
            results = [row for rows in pool.map(client_process, jobs) for row in rows]
        figures = report(results, args.seconds)
        race = checkout_race(base, buyers=200, units=10)
        print(json.dumps(race))
        summary = {
            "clients": args.clients,
            "seconds": args.seconds,
            "think_seconds": args.think,
            "requests": figures["all"]["requests"],
            "errors": figures["all"]["errors"],
            "served_lists_p99_ms": figures["served lists"]["p99_ms"],
            "all_p99_ms": figures["all"]["p99_ms"],
            "checkout_orders": race["created"],
            "checkout_units_sold": race["units_sold"],
        }
        print(json.dumps({"bench": "load summary", **summary}), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
