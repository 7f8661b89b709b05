"""Time a full batch inference of the `recommender` kind on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres bench_infer
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_infer VAR_DIR=/tmp/bench-var \
        .venv/bin/python bench/bench_inference.py --reuse

Migrates the database named by DATABASE_URL, loads a synthetic store with COPY
(customers who favour a few of ~40 categories; skipped when the store is already
there), trains the recommender once through the platform (skipped with `--reuse` when
a champion exists), then runs one batch inference in-process exactly as the workers
do: `inference_start`, then `inference_chunk_execute` for each pending chunk (the last
one finalizes). Prints progress to stderr and one JSON line to stdout per serving
model: total seconds and the seconds spent loading history, scoring, ranking,
explaining, writing rows (COPY) and finalizing, rows written, rows per second and
customers per second (all customers over the whole run, product lists and the
database write included). Runs with DEBUG off.

`--serve ease,item-knn,category-popularity,popularity` measures each of those models
serving in turn: a model other than the champion is fitted on all the data (one
configuration, as training serves it) and promoted, its artifact carrying the
champion's product lists. The last one listed stays champion.

The recommendation issue's scale goal (training ≤ 10 minutes, inference ≥ 2,000
customers/s) is measured with `--lines 2000000 --default-training`: the training run
a shop gets, every step's message timed on stderr.
"""

import argparse
import io
import json
import os
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
USER_PREFIX = "bench-c"
SKU_PREFIX = "BENCH-P"
N_CATEGORIES = 40
COPY_ROWS = 100_000
ALIASES = {"popularity": "recent-popularity", "knn": "item-knn"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def require_postgres() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print(
            "bench_inference measures PostgreSQL writes: set DATABASE_URL to a scratch "
            "PostgreSQL database, e.g. "
            "postgres://postgres@127.0.0.1:5432/bench_infer",
            file=sys.stderr,
        )
        sys.exit(2)


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecomsite.settings.local")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()


# --- synthetic store --------------------------------------------------------------
def copy_text(table: str, columns: list[str], lines) -> None:
    """COPY tab-separated `lines` (strings without newline) into `table`."""
    from django.db import connection

    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        buffer = io.StringIO()
        for count, line in enumerate(lines, start=1):
            buffer.write(line)
            buffer.write("\n")
            if count % COPY_ROWS == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def reset_sequence(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT max(id) FROM {table}))"
        )


def store_present(*, customers: int, products: int, lines: int) -> bool:
    from django.contrib.auth import get_user_model

    from catalog.models import Product
    from orders.models import OrderLine

    return (
        get_user_model().objects.filter(username__startswith=USER_PREFIX).count()
        == customers
        and Product.objects.filter(sku__startswith=SKU_PREFIX).count() == products
        and OrderLine.objects.filter(product__sku__startswith=SKU_PREFIX).count()
        == lines
    )


def store_exists_partially() -> bool:
    from django.contrib.auth import get_user_model

    from catalog.models import Product

    return (
        get_user_model().objects.filter(username__startswith=USER_PREFIX).exists()
        or Product.objects.filter(sku__startswith=SKU_PREFIX).exists()
    )


def build_store(*, customers: int, products: int, lines: int, seed: int) -> None:
    """Load categories, products, customers, orders and lines with COPY."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from catalog.models import Category, Product
    from orders.models import Order

    rng = np.random.default_rng(seed)
    now = datetime(2026, 11, 1, 12, 0, 0)
    stamp = now.isoformat() + "+00"
    with transaction.atomic():
        cats = Category.objects.bulk_create(
            Category(name=f"Bench {i:02d}", path=f"Bench {i:02d}", depth=0)
            for i in range(N_CATEGORIES)
        )
        category_pks = np.array([c.pk for c in cats], dtype=np.int64)
        product_category = rng.integers(0, N_CATEGORIES, products)
        Product.objects.bulk_create(
            (
                Product(
                    sku=f"{SKU_PREFIX}{i:06d}",
                    name=f"Bench product {i}",
                    category_id=int(category_pks[product_category[i]]),
                    price=f"{rng.uniform(1, 90):.2f}",
                    stock_tracked=False,
                )
                for i in range(products)
            ),
            batch_size=5000,
        )
        product_pks = np.array(
            Product.objects.filter(sku__startswith=SKU_PREFIX)
            .order_by("sku")
            .values_list("pk", flat=True),
            dtype=np.int64,
        )
        log(f"{N_CATEGORIES} categories, {products} products")

        user_table = get_user_model()._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {user_table}")
            first_user = cursor.fetchone()[0] + 1
        user_pks = np.arange(first_user, first_user + customers, dtype=np.int64)
        copy_text(
            user_table,
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            (
                f"{pk}\t!\tf\t{USER_PREFIX}{i:07d}\t\t\t\tf\tt\t{stamp}"
                for i, pk in enumerate(user_pks.tolist())
            ),
        )
        reset_sequence(user_table)
        log(f"{customers} customers")

        # Purchases: each customer favours 3 categories; popular products sell more.
        per_customer = 1 + rng.poisson(max(lines / customers - 1, 0), customers)
        per_customer = _fit_total(per_customer, lines)
        line_customer = np.repeat(np.arange(customers), per_customer)
        favourites = rng.integers(0, N_CATEGORIES, (customers, 3))
        slot = rng.choice(4, size=lines, p=[0.45, 0.25, 0.15, 0.15])
        line_category = np.where(
            slot < 3,
            favourites[line_customer, np.minimum(slot, 2)],
            rng.integers(0, N_CATEGORIES, lines),
        )
        line_product = np.zeros(lines, dtype=np.int64)
        for category in range(N_CATEGORIES):
            members = np.flatnonzero(product_category == category)
            where = np.flatnonzero(line_category == category)
            if len(members) == 0:
                members = np.arange(products)
            weights = 1.0 / np.arange(1, len(members) + 1) ** 0.9
            rng.shuffle(weights)
            line_product[where] = rng.choice(
                members, size=len(where), p=weights / weights.sum()
            )
        # Orders of up to 3 consecutive lines per customer, spread over two years.
        starts = np.r_[0, np.cumsum(per_customer)[:-1]]
        position = np.arange(lines) - starts[line_customer]
        orders_per_customer = (per_customer + 2) // 3
        order_base = np.r_[0, np.cumsum(orders_per_customer)[:-1]]
        line_order = order_base[line_customer] + position // 3
        line_number = position % 3 + 1
        n_orders = int(orders_per_customer.sum())
        order_customer = np.repeat(np.arange(customers), orders_per_customer)
        order_seconds = rng.integers(0, 730 * 86400, n_orders)
        order_table = Order._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {order_table}")
            first_order = cursor.fetchone()[0] + 1
        order_pks = np.arange(first_order, first_order + n_orders, dtype=np.int64)
        epoch = now - timedelta(days=730)
        copy_text(
            order_table,
            [
                "id",
                "number",
                "kind",
                "status",
                "source",
                "placed_at",
                "currency",
                "total",
                "country",
                "created_at",
                "updated_at",
                "customer_id",
            ],
            (
                f"{pk}\tBENCH-{pk}\tsale\tcompleted\tshop\t"
                f"{(epoch + timedelta(seconds=s)).isoformat()}+00\tEUR\t0\t\t"
                f"{stamp}\t{stamp}\t{customer}"
                for pk, s, customer in zip(
                    order_pks.tolist(),
                    order_seconds.tolist(),
                    user_pks[order_customer].tolist(),
                    strict=True,
                )
            ),
        )
        reset_sequence(order_table)
        log(f"{n_orders} orders")
        copy_text(
            "orders_orderline",
            ["order_id", "line_number", "product_id", "quantity", "unit_price"],
            (
                f"{order}\t{number}\t{product}\t1\t9.99"
                for order, number, product in zip(
                    order_pks[line_order].tolist(),
                    line_number.tolist(),
                    product_pks[line_product].tolist(),
                    strict=True,
                )
            ),
        )
        log(f"{lines} order lines")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _fit_total(counts: np.ndarray, total: int) -> np.ndarray:
    """Nudge per-customer counts (each at least 1) so that they sum to `total`."""
    counts = counts.copy()
    difference = total - int(counts.sum())
    step = 1 if difference > 0 else -1
    index = 0
    while difference:
        position = index % len(counts)
        if step > 0 or counts[position] > 1:
            counts[position] += step
            difference -= step
        index += 1
    return counts


# --- training and inference -------------------------------------------------------
def train_once(*, reuse: bool, default_training: bool = False) -> float | None:
    from mlops.models import ModelKind, ModelVersion, Run
    from mlops.runs import RunReporter
    from mlops.services import training_execute

    champion = ModelVersion.objects.filter(
        kind=ModelKind.RECOMMENDER, status=ModelVersion.Status.CHAMPION
    ).first()
    if reuse and champion is not None:
        log(f"reusing champion {champion}")
        return None
    # Measuring serving alone: one configuration of each model, briefly. With
    # `--default-training`, the run a shop gets (the training goal's measure).
    quick = {
        "half_lives": [30.0],
        "global_weights": [0.2],
        "knn_shrink": [0.0],
        "ease_l2": [500.0],
        "epochs": 1,
    }
    run = Run.objects.create(
        kind=ModelKind.RECOMMENDER,
        type=Run.Type.TRAIN,
        options={} if default_training else quick,
    )
    report = RunReporter.__call__

    def logged(reporter, progress):  # each step's message, timed, on stderr
        if progress.message != getattr(reporter, "last_message", None):
            reporter.last_message = progress.message
            log(f"{progress.percent:.0f}% {progress.message}")
        report(reporter, progress)

    RunReporter.__call__ = logged
    began = time.perf_counter()
    try:
        version = training_execute(run.pk)
    finally:
        RunReporter.__call__ = report
    seconds = time.perf_counter() - began
    run.refresh_from_db()
    log(f"trained {version} in {seconds:.1f}s; run log:\n{run.log}")
    return seconds


SECONDS: dict[str, float] = defaultdict(float)


def instrument() -> None:
    """Accumulate time spent in the parts of `infer_chunk` into `SECONDS`."""
    import mlops.services
    import recommender.mlkind as mlkind
    from recommender.ml.neighbours import EASE, ItemKNN
    from recommender.ml.popularity import CategoryPopularity, RecentPopularity
    from recommender.ml.sasrec import SASRec

    def timed(name, function):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                SECONDS[name] += time.perf_counter() - began

        return wrapper

    if hasattr(mlkind, "bulk_writer"):  # rows streamed block by block
        opened = mlkind.bulk_writer

        @contextmanager
        def writer(*args, **kwargs):
            began = time.perf_counter()
            with opened(*args, **kwargs) as stream:
                SECONDS["write"] += time.perf_counter() - began
                stream.write = timed("write", stream.write)
                yield stream
                began = time.perf_counter()
            SECONDS["write"] += time.perf_counter() - began  # the server catches up

        mlkind.bulk_writer = writer
    mlkind.bulk_insert = timed("write", mlkind.bulk_insert)
    mlkind.RecommenderKind._history = timed("history", mlkind.RecommenderKind._history)
    for name in ("top_k", "fast_top_k"):
        if hasattr(mlkind, name):
            setattr(mlkind, name, timed("rank", getattr(mlkind, name)))
    mlkind.reason_items = timed("reasons", mlkind.reason_items)
    for model in (CategoryPopularity, RecentPopularity, EASE, ItemKNN, SASRec):
        model.score = timed("score", model.score)
    mlops.services.inference_finalize = timed(
        "finalize", mlops.services.inference_finalize
    )
    kind = mlkind.RecommenderKind
    kind.infer_chunk = timed("infer_chunk", kind.infer_chunk)
    kind._write_for_you = timed("for_you", kind._write_for_you)
    kind._write_product_lists = timed("product_lists", kind._write_product_lists)


def infer_once() -> dict:
    from mlops.models import ModelKind, Run, ServedBatch
    from mlops.services import inference_chunk_execute, inference_start

    SECONDS.clear()
    seconds = SECONDS
    run = Run.objects.create(kind=ModelKind.RECOMMENDER, type=Run.Type.INFER)
    began = time.perf_counter()
    pending = inference_start(run.pk)
    seconds["start"] = time.perf_counter() - began
    log(f"{len(pending)} chunks to do")
    for done, index in enumerate(pending, start=1):
        inference_chunk_execute(run.pk, index)
        if done % 5 == 0 or done == len(pending):
            log(f"chunk {done}/{len(pending)} at {time.perf_counter() - began:.1f}s")
    total = time.perf_counter() - began
    batch = ServedBatch.objects.get(run=run)
    run.refresh_from_db()
    rows = batch.rows
    customers = sum(
        sum(1 for group, _ in chunk.keys if group == "c")
        for chunk in batch.chunks.only("keys")
    )
    measured = ("history", "score", "rank", "reasons", "write")
    other = seconds["infer_chunk"] - sum(seconds[name] for name in measured)
    return {
        "bench": "batch_inference",
        "algorithm": batch.model_version.algorithm,
        "run_state": run.state,
        "batch_state": batch.state,
        "chunks": batch.total_chunks,
        "rows": rows,
        "customers_scored": customers,
        "total_s": round(total, 2),
        "customers_per_s": round(customers / total) if total else None,
        "for_you_s": round(seconds["for_you"], 2),
        "product_lists_s": round(seconds["product_lists"], 2),
        "write_s": round(seconds["write"], 2),
        "write_share": round(seconds["write"] / total, 3),
        "history_s": round(seconds["history"], 2),
        "score_s": round(seconds["score"], 2),
        "rank_s": round(seconds["rank"], 2),
        "reasons_s": round(seconds["reasons"], 2),
        "rows_build_and_delete_s": round(other, 2),
        "start_s": round(seconds["start"], 2),
        # the rest: commit of each chunk, bookkeeping
        "commit_and_bookkeeping_s": round(
            total - seconds["infer_chunk"] - seconds["start"] - seconds["finalize"], 2
        ),
        "finalize_s": round(seconds["finalize"], 2),
        "rows_per_s": round(rows / total) if total else None,
    }


def dump_rows(path: Path) -> None:
    """Write the active batch's "for you" and product-list rows to `path`, sorted."""
    from django.db import connection

    from mlops.models import ServedBatch

    batch = ServedBatch.objects.get(kind="recommender", state="active")
    path.parent.mkdir(parents=True, exist_ok=True)
    queries = (
        "SELECT 'c', customer_id, rank, product_id, score, reason "
        "FROM recommender_recommendation WHERE batch_id = %s "
        "ORDER BY customer_id, rank",
        "SELECT list, product_id, rank, recommended_id, score, reason "
        "FROM recommender_productrecommendation WHERE batch_id = %s "
        "ORDER BY product_id, list, rank",
    )
    with path.open("wb") as out, connection.cursor() as cursor:
        for query in queries:
            sql = query.replace("%s", str(int(batch.pk)))
            with cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
                for data in copy:
                    out.write(data)
    log(f"rows written to {path}")


# Keys of a recommender artifact that belong to the catalogue and product lists.
LIST_KEYS = (
    "product_ids",
    "category_ids",
    "popularity",
    "similar",
    "similar_score",
    "similar_known",
    "together",
    "together_score",
    "together_source",
)


def serve(algorithm: str) -> None:
    """Make `algorithm` the recommender champion, fitting it once if needed."""
    from mlops.kinds import Candidate
    from mlops.models import ModelKind, ModelVersion, Run
    from mlops.registry import (
        _create_version,
        artifact_read,
        artifact_write,
        version_promote,
    )
    from recommender.ml.models import load_model
    from recommender.ml.neighbours import EASE, ItemKNN
    from recommender.ml.popularity import CategoryPopularity, RecentPopularity
    from recommender.ml.sasrec import SASRec
    from recommender.training_data import training_frame

    versions = ModelVersion.objects.filter(kind=ModelKind.RECOMMENDER)
    champion = versions.filter(status=ModelVersion.Status.CHAMPION).first()
    if champion.algorithm == algorithm:
        return
    version = versions.filter(algorithm=algorithm).exclude(artifact="").first()
    if version is None:
        began = time.perf_counter()
        frame = training_frame()
        make = {
            "ease": lambda: EASE(l2=500.0),
            "item-knn": lambda: ItemKNN(shrink=0.0),
            "category-popularity": lambda: CategoryPopularity(
                item_category=frame.product_category,
                n_categories=len(frame.category_ids),
                half_life_days=30.0,
                global_weight=0.2,
            ),
            "recent-popularity": lambda: RecentPopularity(half_life_days=30.0),
            # Serving speed does not depend on how long it trained: one epoch.
            "sasrec": lambda: SASRec(epochs=1, time_budget_s=None),
        }[algorithm]
        model = make().fit(frame.interactions)
        _, arrays = load_model(artifact_read(champion))
        extra = {key: arrays[key] for key in LIST_KEYS if key in arrays}
        run = Run.objects.create(
            kind=ModelKind.RECOMMENDER, type=Run.Type.TRAIN, options={"bench": True}
        )
        candidate = Candidate(algorithm, {}, model.to_bytes(**extra))
        name, digest = artifact_write(
            kind=ModelKind.RECOMMENDER, run_id=run.pk, candidate=candidate
        )
        version = _create_version(
            kind=ModelKind.RECOMMENDER,
            algorithm=algorithm,
            status=ModelVersion.Status.CHALLENGER,
            artifact=name,
            artifact_sha256=digest,
            trained_at=champion.trained_at,
            run=run,
        )
        log(f"fitted {algorithm} in {time.perf_counter() - began:.1f}s")
    version_promote(version=version, user=None, reason="bench_inference --serve")
    log(f"serving {version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--reuse", action="store_true", help="keep an existing champion (skip training)"
    )
    parser.add_argument(
        "--default-training",
        action="store_true",
        help="train with the platform's default options (every configuration tuned, "
        "SASRec's full epochs), as a shop's run does, instead of one brief configuration",
    )
    parser.add_argument(
        "--dump",
        default="",
        help="a folder: write each run's served rows there, to compare code versions",
    )
    parser.add_argument(
        "--serve",
        default="",
        help="comma-separated models to measure serving in turn, e.g. "
        "ease,item-knn,category-popularity,popularity (default: the champion)",
    )
    args = parser.parse_args()
    require_postgres()
    os.environ.setdefault("VAR_DIR", "/tmp/bench-var")
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, skip_checks=True)
    shape = {"customers": args.customers, "products": args.products}
    shape["lines"] = args.lines
    setup_s = None
    if store_present(**shape):
        log("store already there; setup skipped")
    elif store_exists_partially():
        log("a bench store of another size is here: use a fresh database")
        sys.exit(2)
    else:
        began = time.perf_counter()
        build_store(**shape, seed=args.seed)
        setup_s = round(time.perf_counter() - began, 1)
        log(f"store built in {setup_s}s")
    train_s = train_once(reuse=args.reuse, default_training=args.default_training)
    instrument()
    for algorithm in args.serve.split(",") if args.serve else [None]:
        if algorithm:
            serve(ALIASES.get(algorithm, algorithm))
        result = infer_once()
        result.update(
            shape,
            database=connection.vendor,
            setup_s=setup_s,
            train_s=round(train_s, 1) if train_s is not None else None,
            target_customers_per_s=2000,
        )
        print(json.dumps(result), flush=True)
        if args.dump:
            dump_rows(Path(args.dump) / f"{result['algorithm']}.tsv")


if __name__ == "__main__":
    main()
