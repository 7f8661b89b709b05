"""Write a simulated store to the database, and remove it again.

Everything is written with bulk inserts in batches, chunk of days by chunk of days,
inside one transaction: a failed run leaves no half store behind. The ledger rows
carry the balances computed by the simulation, and each product's on-hand is set
once at the end, so that the ledger sums to it.
"""

import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_start
from decimal import Decimal
from itertools import islice
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CustomerProfile, User
from catalog.images import check_image
from catalog.models import Category, PriceChange, Product, ProductImage, StockMovement
from catalog.services import category_get_or_create_by_path
from orders.models import Order, OrderLine
from recommender.models import BehaviourEvent

from . import names
from . import simulation as sim
from .images import draw_product_image
from .truth import hidden_truth
from .world import PRICE_NOTES, StoreSpec, World, build_world

SKU_PREFIX = "DEMO-"
CUSTOMER_PREFIX = "demo-customer-"
SHOWCASE_USERNAME = "demo"
SHOWCASE_PASSWORD = "demo-password"
TRUTH_FILENAME = "demo_truth.json"
BATCH_SIZE = 2000

Progress = Callable[[str], None]


def batched(items: Iterable, size: int) -> Iterable[list]:
    """Yield lists of up to `size` items (itertools.batched arrives in 3.12)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class DemoStoreError(Exception):
    """The demo store cannot be written or removed; the message says why."""


@dataclass
class DemoStoreReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    truth_path: Path | None = None
    start_date: date | None = None
    end_date: date | None = None

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def _widen_sqlite_cache() -> None:
    """Give SQLite a 256 MB page cache for this connection.

    Millions of rows going into (or out of) a dozen indexes thrash the default 2 MB
    cache, and each evicted page is written to the WAL again.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")


def _demo_products():
    return Product.objects.filter(sku__startswith=SKU_PREFIX)


def _demo_customers():
    return User.objects.filter(
        Q(username__startswith=CUSTOMER_PREFIX) | Q(username=SHOWCASE_USERNAME)
    )


def demo_store_exists() -> bool:
    """Return whether the database holds (part of) a demo store."""
    return (
        Order.objects.filter(source=Order.Source.DEMO).exists()
        or _demo_products().exists()
        or _demo_customers().exists()
    )


@transaction.atomic
def demo_store_delete(*, progress: Progress = lambda message: None) -> dict[str, int]:
    """Delete the demo store: demo orders, customers, products and their categories.

    Refuse (DemoStoreError) when real orders point at demo products or customers,
    since deleting those would rewrite the shop's own history.
    """
    _widen_sqlite_cache()
    products = _demo_products()
    customers = _demo_customers()
    demo_orders = Order.objects.filter(source=Order.Source.DEMO)
    foreign = Order.objects.exclude(source=Order.Source.DEMO).filter(
        Q(customer__in=customers) | Q(lines__product__in=products)
    )
    if foreign.exists():
        numbers = ", ".join(foreign.values_list("number", flat=True).distinct()[:5])
        raise DemoStoreError(
            f"Orders that are not demo orders ({numbers}…) use demo products or "
            "customers; delete or reassign them before resetting the demo store."
        )
    deleted: dict[str, int] = {}
    deleted["events"] = BehaviourEvent.objects.filter(
        Q(product__in=products) | Q(customer__in=customers) | Q(order__in=demo_orders)
    ).delete()[0]
    deleted["order lines"] = OrderLine.objects.filter(order__in=demo_orders).delete()[0]
    # Nothing points at these orders any more; a raw delete skips loading them all.
    deleted["orders"] = demo_orders._raw_delete(demo_orders.db)
    deleted["stock movements"] = StockMovement.objects.filter(
        product__in=products
    ).delete()[0]
    deleted["price changes"] = PriceChange.objects.filter(
        product__in=products
    ).delete()[0]
    images = ProductImage.objects.filter(product__in=products)
    for image in images.only("image", "thumbnail").iterator(chunk_size=BATCH_SIZE):
        for stored in (image.image, image.thumbnail):
            if stored:
                stored.storage.delete(stored.name)
    deleted["images"] = images.delete()[0]
    deleted["products"] = products.delete()[0]
    user_ids = list(customers.values_list("pk", flat=True))
    deleted["customers"] = 0
    for batch in batched(user_ids, BATCH_SIZE):
        User.objects.filter(pk__in=batch).delete()
        deleted["customers"] += len(batch)
    deleted["categories"] = _delete_demo_categories()
    progress(
        "Deleted the previous demo store: "
        + ", ".join(f"{count:,} {name}" for name, count in deleted.items())
    )
    return deleted


def _delete_demo_categories() -> int:
    paths = []
    for top in names.TREE:
        paths += [f"{top.name} > {leaf.name}" for leaf in top.leaves]
    paths += [top.name for top in names.TREE]
    count = 0
    for path in paths:  # leaves first, so their parents are empty when we get there
        count += (
            Category.objects.filter(
                path=path, products__isnull=True, children__isnull=True
            )
            .delete()[1]
            .get(Category._meta.label, 0)
        )
    return count


@transaction.atomic
def demo_store_generate(
    *,
    spec: StoreSpec,
    progress: Progress = lambda message: None,
    today: date | None = None,
    with_images: bool = True,
) -> DemoStoreReport:
    """Simulate a store for `spec` and write it; the period ends the day before today.

    Raise DemoStoreError if a demo store is already there (delete it first).
    """
    if demo_store_exists():
        raise DemoStoreError(
            "This database already holds a demo store; use --reset to replace it."
        )
    report = DemoStoreReport()
    clock = _PhaseClock(report, progress)
    today = today or timezone.localdate()
    report.end_date = today - timedelta(days=1)
    report.start_date = report.end_date - timedelta(days=spec.days - 1)
    calendar = _Calendar(report.start_date)

    _widen_sqlite_cache()
    world = build_world(spec)
    # Shorter chunks for big stores keep each chunk's rows (and memory) bounded.
    chunk_days = max(7, min(30, 1_000_000 // spec.customers))
    simulation = sim.StoreSimulation(world, chunk_days=chunk_days)
    clock.done("simulation set up", products=len(world.sku), customers=spec.customers)

    categories = _write_categories(world)
    clock.done("categories", categories=len(categories))
    product_ids = _write_products(world, categories, calendar)
    clock.done("products", products=len(product_ids))
    if with_images:
        clock.done("images", images=_write_images(world, product_ids))
    customer_ids = _write_customers(world, calendar)
    clock.done("customers", customers=len(customer_ids))

    writer = _TradeWriter(spec.seed, world, product_ids, customer_ids, calendar)
    for chunk in simulation.chunks():
        written = writer.write(chunk)
        last = chunk.first_day + chunk.n_days
        clock.done(f"days {chunk.first_day + 1}-{last} of {spec.days}", **written)

    _write_final_state(simulation, product_ids)
    truth = hidden_truth(simulation, start_date=report.start_date)
    report.truth_path = _write_json(Path(settings.VAR_DIR) / TRUTH_FILENAME, truth)
    clock.done("final stock and prices; truth saved", **{})
    return report


class _PhaseClock:
    def __init__(self, report: DemoStoreReport, progress: Progress):
        self.report = report
        self.progress = progress
        self.started = self.last = time.monotonic()

    def done(self, phase: str, **counts: int) -> None:
        now = time.monotonic()
        self.report.seconds[phase] = now - self.last
        for name, count in counts.items():
            if phase.startswith("days"):
                self.report.counts[name] = self.report.counts.get(name, 0) + count
            else:
                self.report.counts[name] = count
        described = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        self.progress(
            f"{phase}: {described or 'done'} ({now - self.last:.1f}s, "
            f"{now - self.started:.1f}s in all)"
        )
        self.last = now


class _Calendar:
    """Turn simulated (day, second) into dates, aware datetimes and database text.

    A simulated second counts from the local midnight of its day (settings.TIME_ZONE)
    as elapsed time, so an order and its events always agree on their moment.
    """

    def __init__(self, start: date):
        self.start = start
        self.zone = timezone.get_current_timezone()
        self._midnights: dict[int, int] = {}

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def midnight(self, day: int) -> int:
        """Return the Unix time of the day's local midnight."""
        epoch = self._midnights.get(day)
        if epoch is None:
            local = datetime.combine(self.date(day), day_start(), tzinfo=self.zone)
            epoch = self._midnights[day] = int(local.timestamp())
        return epoch

    def at(self, day: int, second: int) -> datetime:
        return datetime.fromtimestamp(self.midnight(day) + second, tz=UTC)

    def db_text(self, days: np.ndarray, seconds: np.ndarray) -> list[str]:
        """Return the moments as the database takes them in text: UTC, ISO 8601."""
        if not len(days):
            return []
        midnights = np.array(
            [self.midnight(d) for d in range(days.min(), days.max() + 1)]
        )
        unix = midnights[days - days.min()] + seconds
        text = np.datetime_as_string(unix.astype("datetime64[s]"), unit="s")
        text = np.char.replace(text, "T", " ")
        if connection.vendor != "sqlite":
            text = np.char.add(text, "+00:00")
        return text.tolist()


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _bulk(model, objects: Iterable, batch_size: int = BATCH_SIZE) -> list:
    created = []
    for batch in batched(objects, batch_size):
        created += model.objects.bulk_create(batch)
    return created


def _write_categories(world: World) -> list[Category]:
    leaves = []
    for k, path in enumerate(world.leaf_paths):
        leaf = category_get_or_create_by_path(path)
        if leaf.default_lead_time_days is None:
            leaf.default_lead_time_days = int(world.leaf_lead_time[k])
            leaf.save(update_fields=["default_lead_time_days"])
        leaves.append(leaf)
    return leaves


def _write_products(world: World, categories, calendar: _Calendar) -> list[int]:
    currency = settings.SHOP_CURRENCY
    descriptions = [
        f"{name}. A {world.leaf_names[k].lower()} product from our "
        f"{world.top_names[world.leaf_top[k]].lower()} range."
        for name, k in zip(
            world.product_names, world.product_leaf.tolist(), strict=True
        )
    ]
    products = _bulk(
        Product,
        (
            Product(
                sku=world.sku[p],
                name=world.product_names[p],
                description=descriptions[p],
                category=None if new else categories[k],
                category_source=(
                    Product.CategorySource.NONE
                    if new
                    else Product.CategorySource.OPERATOR
                ),
                price=_money(int(world.base_price[p])),
                cost=_money(int(world.cost[p])),
                currency=currency,
                lead_time_days=int(world.lead_time[p]),
                launched_on=calendar.date(int(world.launch_day[p])),
            )
            for p, (k, new) in enumerate(
                zip(
                    world.product_leaf.tolist(),
                    world.new_arrivals.tolist(),
                    strict=True,
                )
            )
        ),
    )
    return [product.pk for product in products]


def _write_images(world: World, product_ids: list[int]) -> int:
    rows = []
    written = 0
    for p, pk in enumerate(product_ids):
        recipe = world.recipes[world.product_leaf[p]]
        raw = draw_product_image(recipe, int(world.image_seed[p]))
        checked = check_image(
            raw,
            allowed_formats=settings.IMAGE_ALLOWED_FORMATS,
            max_bytes=settings.IMAGE_MAX_BYTES,
            max_pixels=settings.IMAGE_MAX_PIXELS,
            thumbnail_size=settings.IMAGE_THUMBNAIL_SIZE,
        )
        image = ProductImage(
            product=Product(pk=pk, sku=world.sku[p]),
            width=checked.width,
            height=checked.height,
            format=checked.format,
            size_bytes=len(checked.content),
            checksum=checked.checksum,
            position=0,
            alt_text=world.product_names[p][:255],
        )
        image.image.save(
            f"image.{checked.extension}", ContentFile(checked.content), False
        )
        image.thumbnail.save("thumb.jpg", ContentFile(checked.thumbnail), save=False)
        rows.append(image)
        if len(rows) >= BATCH_SIZE:
            written += len(_bulk(ProductImage, rows))
            rows = []
    return written + len(_bulk(ProductImage, rows))


def _write_customers(world: World, calendar: _Calendar) -> list[int]:
    showcase_password = make_password(SHOWCASE_PASSWORD)

    def password(username: str) -> str:
        if username == SHOWCASE_USERNAME:
            return showcase_password
        # What make_password(None) stores, without its slow per-character draw.
        return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)

    users = _bulk(
        User,
        (
            User(
                username=username,
                email=f"{username}@example.com",
                first_name=world.first_names[c],
                last_name=world.last_names[c],
                password=password(username),
                date_joined=calendar.at(int(world.join_day[c]), 9 * 3600 + c % 36000),
            )
            for c, username in enumerate(world.usernames)
        ),
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    n = len(users)
    _insert_rows(
        CustomerProfile,
        (
            "user",
            "country",
            "city",
            "postcode",
            "phone",
            "marketing_opt_in",
            "attributes",
            "created_at",
            "updated_at",
        ),
        [
            [user.pk for user in users],
            [place[0] for place in world.places],
            [place[1] for place in world.places],
            [""] * n,
            [""] * n,
            [c % 3 == 0 for c in range(n)],
            [json.dumps({"source": "demo store"})] * n,
            [now] * n,
            [now] * n,
        ],
    )
    return [user.pk for user in users]


def _insert_rows(model, fields: tuple[str, ...], columns: list[list]) -> int:
    """Insert plain values column-wise: COPY on PostgreSQL, executemany elsewhere.

    The values must already be what the database stores (text for moments and
    decimals); this skips building a model instance per row, which is what makes
    large demo stores affordable.
    """
    count = len(columns[0])
    if not count:
        return 0
    rows = zip(*columns, strict=True)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            for batch in batched(rows, 20_000):
                cursor.executemany(sql, batch)
    return count


def _money_text(cents: np.ndarray) -> list[str]:
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def _lookup(ids: np.ndarray, index: np.ndarray) -> list:
    """Return ids[index] as a list, with None where index is negative."""
    if not len(index):
        return []
    found = ids[np.maximum(index, 0)].astype(object)
    found[index < 0] = None
    return found.tolist()


class _TradeWriter:
    """Write one chunk of simulated days: orders, lines, ledger, prices, events."""

    def __init__(self, seed, world, product_ids, customer_ids, calendar: _Calendar):
        self.seed = seed
        self.world = world
        self.product_ids = np.asarray(product_ids, dtype=np.int64)
        self.customer_ids = np.asarray(customer_ids, dtype=np.int64)
        self.countries = [place[0] for place in world.places]
        self.calendar = calendar
        self.currency = settings.SHOP_CURRENCY

    def order_number(self, seq: int) -> str:
        return f"D{self.seed}-{seq:07d}"

    def write(self, chunk: sim.DayChunk) -> dict[str, int]:
        order_ids = self._orders(chunk.orders)
        return {
            "orders": len(order_ids) - 1,
            "order lines": self._lines(chunk.lines, order_ids),
            "stock movements": self._movements(chunk.movements),
            "price changes": self._price_changes(chunk.price_changes),
            "events": self._events(chunk.events, chunk.queries, order_ids),
        }

    def _orders(self, rows: dict) -> np.ndarray:
        """Write the orders; return their ids indexed by sequence number - first."""
        numbers = rows["number"]
        if not len(numbers):
            self._first_order = 0
            return np.full(1, -1, dtype=np.int64)
        texts = [self.order_number(seq) for seq in numbers.tolist()]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        n = len(texts)
        _insert_rows(
            Order,
            (
                "number",
                "customer",
                "kind",
                "status",
                "source",
                "placed_at",
                "currency",
                "total",
                "country",
                "created_at",
                "updated_at",
            ),
            [
                texts,
                _lookup(self.customer_ids, rows["customer"]),
                [Order.Kind.SALE.value] * n,
                [Order.Status.COMPLETED.value] * n,
                [Order.Source.DEMO.value] * n,
                self.calendar.db_text(rows["day"], rows["second"]),
                [self.currency] * n,
                _money_text(rows["total"]),
                [self.countries[c] for c in rows["customer"].tolist()],
                [now] * n,
                [now] * n,
            ],
        )
        written: dict[str, int] = {}
        for batch in batched(texts, 500):
            written.update(
                Order.objects.filter(number__in=batch).values_list("number", "pk")
            )
        # Index 0 means "no order" in the simulation's arrays.
        self._first_order = int(numbers.min()) - 1
        ids = np.full(n + 1, -1, dtype=np.int64)
        ids[numbers - self._first_order] = [written[text] for text in texts]
        return ids

    def _order_index(self, seq: np.ndarray) -> np.ndarray:
        return np.where(seq > 0, seq - self._first_order, -1)

    def _lines(self, rows: dict, order_ids: np.ndarray) -> int:
        return _insert_rows(
            OrderLine,
            ("order", "line_number", "product", "quantity", "unit_price"),
            [
                _lookup(order_ids, self._order_index(rows["order"])),
                rows["line"].tolist(),
                _lookup(self.product_ids, rows["product"]),
                rows["quantity"].tolist(),
                _money_text(rows["price"]),
            ],
        )

    def _movements(self, rows: dict) -> int:
        sale = rows["kind"] == sim.MOVEMENT_SALE
        reference = rows["reference"]
        references = [
            self.order_number(r) if s else (f"PO-D{self.seed}-{r:06d}" if r else "")
            for s, r in zip(sale.tolist(), reference.tolist(), strict=True)
        ]
        notes = np.where(sale, "", np.where(reference > 0, "delivery", "opening stock"))
        kinds = np.where(sale, StockMovement.Kind.SALE, StockMovement.Kind.RESTOCK)
        return _insert_rows(
            StockMovement,
            (
                "product",
                "kind",
                "quantity",
                "balance_after",
                "reference",
                "note",
                "occurred_at",
            ),
            [
                _lookup(self.product_ids, rows["product"]),
                kinds.tolist(),
                rows["quantity"].tolist(),
                rows["balance"].tolist(),
                references,
                notes.tolist(),
                self.calendar.db_text(rows["day"], rows["second"]),
            ],
        )

    def _price_changes(self, rows: dict) -> int:
        sources = np.array(
            [
                PriceChange.Source.MANUAL,
                PriceChange.Source.PROMOTION,
                PriceChange.Source.COMPETITOR,
            ]
        )
        n = len(rows["day"])
        created = connection.ops.adapt_datetimefield_value(timezone.now())
        return _insert_rows(
            PriceChange,
            (
                "product",
                "price",
                "currency",
                "source",
                "effective_at",
                "note",
                "created_at",
            ),
            [
                _lookup(self.product_ids, rows["product"]),
                _money_text(rows["price"]),
                [self.currency] * n,
                sources[rows["source"]].tolist(),
                self.calendar.db_text(rows["day"], rows["second"]),
                np.array(PRICE_NOTES)[rows["note"]].tolist(),
                [created] * n,
            ],
        )

    def _events(self, rows: dict, queries: list[str], order_ids: np.ndarray) -> int:
        kinds = np.array(
            [
                BehaviourEvent.Kind.VIEW,
                BehaviourEvent.Kind.ADD_TO_CART,
                BehaviourEvent.Kind.PURCHASE,
                BehaviourEvent.Kind.SEARCH,
            ]
        )
        texts = np.array(queries + [""], dtype=object)
        prefix = f"D{self.seed}-S"
        return _insert_rows(
            BehaviourEvent,
            (
                "kind",
                "customer",
                "session_key",
                "product",
                "order",
                "quantity",
                "query",
                "occurred_at",
            ),
            [
                kinds[rows["kind"]].tolist(),
                _lookup(self.customer_ids, rows["customer"]),
                [f"{prefix}{s}" for s in rows["session"].tolist()],
                _lookup(self.product_ids, rows["product"]),
                _lookup(order_ids, self._order_index(rows["order"])),
                rows["quantity"].tolist(),
                texts[rows["query"]].tolist(),
                self.calendar.db_text(rows["day"], rows["second"]),
            ],
        )


def _write_final_state(simulation: sim.StoreSimulation, product_ids: list[int]) -> None:
    """Set each product's on-hand (its ledger's sum), current price and activity."""
    world = simulation.world
    quote = connection.ops.quote_name
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = ("price", "stock_on_hand", "is_active", "updated_at")
    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
    sql = (
        f"UPDATE {quote(Product._meta.db_table)} SET {assignments} "
        f"WHERE {quote(Product._meta.pk.column)} = %s"
    )
    rows = [
        (
            _money(int(simulation.price[p])),
            int(simulation.stock[p]),
            bool(world.retire_day[p] >= world.spec.days),
            now,
            pk,
        )
        for p, pk in enumerate(product_ids)
    ]
    with connection.cursor() as cursor:
        for batch in batched(rows, 5000):
            cursor.executemany(sql, batch)


def _write_json(path: Path, payload: dict) -> Path:
    """Write JSON atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".demo_truth-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; evaluations read it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
