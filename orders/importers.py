"""Import order history: generic CSV, UCI "Online Retail", dunnhumby Complete Journey.

Each format is a small parser that turns a raw row into an `OrderRow`; one writer
(`OrderImporter.write`) stores them. Orders are keyed by their `number`, lines by
(order, line_number) where line_number is the n-th row of that order in the file, so
re-running a file (or finishing one after a crash) never duplicates anything.
Imported orders are history: `completed`, source `import`, and they move no stock.
An order's customer, time, kind and country come from its first row in the file.
"""

import csv
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, connection, transaction

from accounts.models import CustomerProfile
from catalog.importers import CategoryCache, category_path_levels
from catalog.models import CATEGORY_PATH_SEPARATOR, Product
from catalog.services import SkuIndex
from ecomsite.importing import (
    AwareDatetimes,
    BatchResult,
    GrowthAnalyzer,
    ImportFileError,
    ImportOptions,
    ImportSummary,
    Row,
    RowRejected,
    RowSkipped,
    copy_insert,
    decimal,
    external_id,
    integer,
    money_round,
    optional_text,
    run_import,
    text,
    values_in,
)
from recommender.models import ErasedCustomer
from recommender.privacy import pseudonymise

from .models import Order, OrderLine
from .services import orders_recalculate_totals

ISO_EXPECTED = "an ISO 8601 timestamp such as 2024-03-01T14:30:00"
SKU_MAX = 64
MAX_ORDER_TOTAL = Decimal(10) ** 12  # Order.total has 14 digits, 2 of them decimals
EXTERNAL_ID_MAX = 64


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order line in the shop's terms, whatever the file's format."""

    number: str
    customer: str | None  # external id; None for a guest
    sku: str
    quantity: int
    unit_price: Decimal
    placed_at: datetime
    kind: str = Order.Kind.SALE
    country: str = ""
    product_name: str = ""
    category_path: str = ""


class GenericFormat:
    """`order_id,customer_id,sku,quantity,unit_price,ordered_at[,country]`."""

    name = "generic"
    personal_columns = ("customer_id", "country")  # the customer's id first
    required_columns = (
        "order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_at",
    )  # fmt: skip
    optional_columns = ("country",)

    def __init__(self, path: Path):
        self.timestamps = AwareDatetimes()

    def order_number(self, values: dict[str, str]) -> str:
        return text(values, "order_id", max_length=64)

    def parse(self, values: dict[str, str], number: str) -> OrderRow:
        customer = values["customer_id"].strip()
        return OrderRow(
            number=number,
            customer=external_id(values, "customer_id") if customer else None,
            sku=text(values, "sku", max_length=SKU_MAX),
            quantity=integer(values, "quantity", min_value=1),
            unit_price=decimal(values, "unit_price", min_value=Decimal(0)),
            placed_at=self.timestamps(values, "ordered_at", ISO_EXPECTED),
            country=optional_text(values, "country", max_length=64),
        )


def parse_us_timestamp(raw: str) -> datetime:
    """Parse `10/31/2011 10:42` (month/day/year, optional seconds)."""
    day_part, _, time_part = raw.partition(" ")
    month, day, year = day_part.split("/")
    clock = [int(part) for part in time_part.split(":")] if time_part else [0, 0]
    if len(clock) == 2:
        clock.append(0)
    if len(clock) != 3:
        raise ValueError(raw)
    return datetime(int(year), int(month), int(day), *clock)


class OnlineRetailFormat:
    """The UCI "Online Retail" export.

    A StockCode is a product when it starts with five digits (21479, 84313C,
    15056BL: the shop's item codes). Anything else (POST, DOT, M, C2, D, S, B, CRUK,
    PADS, AMAZONFEE, BANK CHARGES, DCGS…, gift_0001_…) is postage, a fee, a discount,
    a manual entry or a voucher: such rows are skipped, counted per code, and are not
    rejects. Invoices starting with C are cancellations: they become `return` orders
    with positive quantities. Negative quantities on other invoices are stock
    adjustments, not sales, and are rejected.
    """

    name = "online-retail"
    personal_columns = ("CustomerID", "Country")
    required_columns = (
        "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
        "UnitPrice", "CustomerID", "Country",
    )  # fmt: skip
    optional_columns = ()
    product_code = re.compile(r"\d{5}")

    def __init__(self, path: Path):
        self.timestamps = AwareDatetimes(parse_us_timestamp)

    def order_number(self, values: dict[str, str]) -> str:
        return text(values, "InvoiceNo", max_length=64)

    def parse(self, values: dict[str, str], number: str) -> OrderRow:
        code = text(values, "StockCode", max_length=SKU_MAX)
        if not self.product_code.match(code):
            raise RowSkipped(f"non-product stock code {code} (fees, postage, vouchers)")
        is_return = number[0] in "Cc"
        quantity = integer(values, "Quantity")
        if quantity == 0:
            raise RowRejected("Quantity", "is 0; expected a number of items")
        if is_return and quantity > 0:
            raise RowRejected(
                "Quantity",
                f"{quantity} is positive on cancellation {number}; expected a negative "
                "number",
            )
        if not is_return and quantity < 0:
            raise RowRejected(
                "Quantity",
                f"{quantity} is negative on invoice {number}; expected a positive "
                "number (only cancellations, InvoiceNo C…, take items back)",
            )
        customer = values["CustomerID"].strip()
        return OrderRow(
            number=number,
            customer=external_id(values, "CustomerID") if customer else None,
            sku=code,
            quantity=abs(quantity),
            unit_price=decimal(values, "UnitPrice", min_value=Decimal(0)),
            placed_at=self.timestamps(
                values,
                "InvoiceDate",
                "month/day/year hour:minute, e.g. 10/31/2011 10:42",
            ),
            kind=Order.Kind.RETURN if is_return else Order.Kind.SALE,
            country=optional_text(values, "Country", max_length=64),
            product_name=values["Description"].strip()[:255],
        )


class CompleteJourneyFormat:
    """dunnhumby "The Complete Journey" transactions.csv: basket = order.

    The unit price is sales_value / quantity. A products.csv beside the file gives
    names and categories (`department > product_category > product_type`).
    """

    name = "complete-journey"
    personal_columns = ("household_id",)
    required_columns = (
        "household_id", "store_id", "basket_id", "product_id", "quantity",
        "sales_value", "transaction_timestamp",
    )  # fmt: skip
    optional_columns = (
        "retail_disc", "coupon_disc", "coupon_match_disc", "week",
    )  # fmt: skip

    def __init__(self, path: Path):
        self.timestamps = AwareDatetimes()
        self.products = self._load_products(path.with_name("products.csv"))

    @staticmethod
    def _load_products(path: Path) -> dict[str, tuple[str, str]]:
        """Return product_id -> (name, category path) from products.csv, if present."""
        if not path.is_file():
            return {}
        products = {}
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for values in csv.DictReader(handle):
                try:
                    product_id = external_id(values, "product_id")
                except RowRejected:
                    continue
                levels = [
                    (values.get(name) or "").strip()
                    for name in ("department", "product_category", "product_type")
                ]
                levels = [level for level in levels if level]
                try:
                    category_path_levels(CATEGORY_PATH_SEPARATOR.join(levels))
                    path_text = CATEGORY_PATH_SEPARATOR.join(levels)
                except RowRejected:
                    path_text = ""
                name = " ".join(
                    part
                    for part in (
                        (values.get("product_type") or "").strip(),
                        (values.get("package_size") or "").strip(),
                    )
                    if part
                )
                products[product_id] = (name[:255], path_text)
        return products

    def order_number(self, values: dict[str, str]) -> str:
        return external_id(values, "basket_id")

    def parse(self, values: dict[str, str], number: str) -> OrderRow:
        sku = external_id(values, "product_id", max_length=SKU_MAX)
        quantity = integer(values, "quantity", min_value=0, allow_float_form=True)
        if quantity == 0:
            raise RowRejected("quantity", "is 0; expected at least 1 unit per line")
        sales_value = decimal(values, "sales_value", min_value=Decimal(0))
        name, category_path = self.products.get(sku, ("", ""))
        return OrderRow(
            number=number,
            customer=external_id(values, "household_id"),
            sku=sku,
            quantity=quantity,
            unit_price=money_round(sales_value / quantity, "sales_value"),
            placed_at=self.timestamps(values, "transaction_timestamp", ISO_EXPECTED),
            product_name=name,
            category_path=category_path,
        )


LINE_FIELDS = ("order", "line_number", "product", "quantity", "unit_price")
ORDER_FIELDS = (
    "number", "customer", "kind", "status", "source", "placed_at", "currency",
    "total", "country",
)  # fmt: skip
LINE_STAGE_TABLE = "import_order_line_stage"


def insert_order_lines(rows: list[tuple[int, int, int, int, Decimal]]) -> None:
    """Insert (order_id, line_number, product_id, quantity, unit_price) rows.

    Lines already there are left alone (ON CONFLICT DO NOTHING on the unique
    order/line_number). This skips model instances because it is the hot path of a
    million-line import: PostgreSQL gets the batch by COPY into a temporary table
    (dropped at commit) and one INSERT … SELECT; other databases an executemany.
    """
    if not rows:
        return
    meta = OrderLine._meta
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column) for name in LINE_FIELDS
    )
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                rows,
            )
            return
        cursor.execute(
            f"CREATE TEMPORARY TABLE {LINE_STAGE_TABLE} (order_id bigint, "
            "line_number integer, product_id bigint, quantity integer, "
            "unit_price numeric) ON COMMIT DROP"
        )
        with cursor.copy(f"COPY {LINE_STAGE_TABLE} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT * FROM {LINE_STAGE_TABLE} "
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DROP TABLE {LINE_STAGE_TABLE}")


FORMATS = {
    fmt.name: fmt for fmt in (GenericFormat, OnlineRetailFormat, CompleteJourneyFormat)
}
USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def customer_username(external: str) -> str:
    """Return the username of an imported customer."""
    return f"customer-{USERNAME_UNSAFE.sub('_', external)}"[:150]


class OrderImporter:
    """Write parsed order lines: customers, products, orders, then lines, in bulk."""

    unit = "order lines"

    def __init__(self, fmt):
        self.format = fmt
        self.required_columns = fmt.required_columns
        self.optional_columns = fmt.optional_columns
        self.categories = CategoryCache()
        self._line_numbers: Counter = Counter()
        self._customer_ids: dict[str, int | None] = {}
        self.erased_customers: set[str] = set()  # seen in the file, imported as guests
        self._products = SkuIndex()
        self.currency = settings.SHOP_CURRENCY
        self.statistics = GrowthAnalyzer(
            [Order, OrderLine, Product, get_user_model(), CustomerProfile]
        )

    def parse(self, values: dict[str, str]) -> tuple[int, OrderRow]:
        """Return (line number within its order, the row in the shop's terms)."""
        number = self.format.order_number(values)
        # Counted before the rest is checked, so that fixing a rejected row and
        # re-running gives it the line number it would have had.
        self._line_numbers[number] += 1
        line = self.format.parse(values, number)
        if line.quantity * line.unit_price >= MAX_ORDER_TOTAL:
            raise RowRejected(
                "quantity",
                f"{line.quantity} × {line.unit_price} is too large for an order "
                f"total; expected less than {MAX_ORDER_TOTAL:,}",
            )
        return self._line_numbers[number], line

    def write(self, rows: list[Row]) -> BatchResult:
        """Store a batch: unknown customers and products first, then orders, lines."""
        result = BatchResult()
        lines = [row.parsed for row in rows]
        customers = self._ensure_customers(lines, result)
        products = self._ensure_products(lines, result)
        orders, preexisting = self._ensure_orders(lines, customers, result)
        present = set(
            OrderLine.objects.filter(
                **values_in("order_id", list(preexisting.values()))
            ).values_list("order_id", "line_number")
        )
        new_lines = []
        grown: set[int] = set()
        for line_number, line in lines:
            order_id = orders[line.number]
            if (order_id, line_number) in present:
                continue
            if line.number in preexisting:
                grown.add(order_id)
            new_lines.append(
                (
                    order_id,
                    line_number,
                    products[line.sku],
                    line.quantity,
                    line.unit_price,
                )
            )
        insert_order_lines(new_lines)
        # Orders created by this batch got their total from its lines; only older
        # orders that gained lines (split across batches or runs) need a recount.
        orders_recalculate_totals(order_ids=grown)
        result.imported = len(new_lines)
        result.already_present = len(lines) - len(new_lines)
        self.statistics.batch_written()
        return result

    def _ensure_customers(self, lines, result: BatchResult) -> dict[str, int | None]:
        """Return external id -> user id; None for erased customers (guest orders)."""
        first_seen: dict[str, OrderRow] = {}
        for _, line in lines:
            if line.customer is not None and line.customer not in self._customer_ids:
                first_seen.setdefault(line.customer, line)
        for external in self._erased_among(first_seen):
            del first_seen[external]
            self._customer_ids[external] = None
            self.erased_customers.add(external)
        if first_seen:
            self._customer_ids.update(self._user_ids(first_seen))
            missing = [ext for ext in first_seen if ext not in self._customer_ids]
            if missing:
                created = self._create_customers([first_seen[ext] for ext in missing])
                self._customer_ids.update(created)
                result.created["customers"] += len(created)
        return self._customer_ids

    def redact_reject(self, values: dict[str, str]) -> dict[str, str]:
        """Blank the customer's columns of a rejected row of an erased customer."""
        id_column, *_ = self.format.personal_columns
        try:
            external = external_id(values, id_column)
        except (RowRejected, KeyError):
            external = (values.get(id_column) or "").strip()
        if not external or not self._erased_among([external]):
            return values
        blank = dict.fromkeys(self.format.personal_columns, "")
        return {**values, **{k: v for k, v in blank.items() if k in values}}

    @staticmethod
    def _erased_among(externals: Iterable[str]) -> list[str]:
        """Return the external ids of customers erased on request (one query)."""
        hashes = {pseudonymise(external): external for external in externals}
        if not hashes:
            return []
        erased = ErasedCustomer.objects.filter(
            **values_in("external_id_hash", list(hashes))
        )
        return [hashes[h] for h in erased.values_list("external_id_hash", flat=True)]

    @staticmethod
    def _user_ids(externals: Iterable[str]) -> dict[str, int]:
        return dict(
            get_user_model()
            .objects.filter(**values_in("external_id", list(externals)))
            .values_list("external_id", "id")
        )

    def _create_customers(self, first_lines: list[OrderRow]) -> dict[str, int]:
        """Create users (unusable passwords) and profiles for unknown external ids.

        In bulk, as lines are (`copy_insert`); a customer whose username someone else
        already has, or who was created meanwhile by another import, is looked up or
        created one by one.
        """
        user_model = get_user_model()
        created = copy_insert(
            user_model,
            ("username", "external_id", "password"),
            [
                (
                    customer_username(line.customer),
                    line.customer,
                    UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(12),
                )
                for line in first_lines
            ],
            key="external_id",
        )
        if len(created) < len(first_lines):
            created.update(
                self._user_ids(
                    line.customer
                    for line in first_lines
                    if line.customer not in created
                )
            )
        for line in first_lines:
            if line.customer not in created:  # the username was taken by someone else
                created[line.customer] = self._create_customer_one_by_one(line.customer)
        countries = {line.customer: line.country for line in first_lines}
        copy_insert(
            CustomerProfile,
            ("user", "country"),
            [(user_id, countries[external]) for external, user_id in created.items()],
            key="user",
        )
        return created

    def _create_customer_one_by_one(self, external: str) -> int:
        user_model = get_user_model()
        base = customer_username(external)[:140]
        for attempt in range(1, 100):
            if found := self._user_ids([external]):  # created meanwhile elsewhere
                return found[external]
            try:
                with transaction.atomic():
                    user = user_model(
                        username=f"{base}-{attempt}", external_id=external
                    )
                    user.set_unusable_password()
                    user.save()
                    return user.id
            except IntegrityError:
                continue
        raise IntegrityError(f"No free username for customer {external}.")

    def _ensure_products(self, lines, result: BatchResult) -> dict[str, int]:
        first_seen: dict[str, OrderRow] = {}
        for _, line in lines:
            first_seen.setdefault(line.sku, line)
        result.created["products"] += self._products.ensure(
            first_seen,
            lambda line: Product(
                sku=line.sku,
                name=line.product_name or line.sku,
                category_id=self.categories.id_for(line.category_path, result.created),
                price=line.unit_price,
                currency=self.currency,
            ),
        )
        return self._products.ids

    def _ensure_orders(
        self, lines, customers: dict[str, int | None], result: BatchResult
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Return number -> order id for the batch, and those that existed before.

        New orders are created with the total of their lines in this batch.
        """
        first_seen: dict[str, OrderRow] = {}
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for _, line in lines:
            first_seen.setdefault(line.number, line)
            totals[line.number] += line.quantity * line.unit_price
        preexisting = self._order_ids(first_seen)
        orders = dict(preexisting)
        created = copy_insert(
            Order,
            ORDER_FIELDS,
            [
                (
                    number,
                    customers[line.customer] if line.customer else None,
                    line.kind,
                    Order.Status.COMPLETED.value,
                    Order.Source.IMPORT.value,
                    line.placed_at,
                    self.currency,
                    totals[number],
                    line.country,
                )
                for number, line in first_seen.items()
                if number not in preexisting
            ],
            key="number",
        )
        orders.update(created)
        result.created["orders"] += len(created)
        if len(orders) < len(first_seen):  # created meanwhile by another import
            raced = self._order_ids(n for n in first_seen if n not in orders)
            orders.update(raced)
            preexisting.update(raced)
        return orders, preexisting

    @staticmethod
    def _order_ids(numbers: Iterable[str]) -> dict[str, int]:
        return dict(
            Order.objects.filter(**values_in("number", list(numbers))).values_list(
                "number", "id"
            )
        )


def import_orders(
    path: Path, *, file_format: str = "generic", options: ImportOptions | None = None
) -> ImportSummary:
    """Import order lines from a CSV file in one of FORMATS."""
    if file_format not in FORMATS:
        raise ImportFileError(
            f"Unknown format {file_format!r}; expected one of {', '.join(FORMATS)}."
        )
    path = Path(path)
    fmt = FORMATS[file_format](path)
    importer = OrderImporter(fmt)
    summary = run_import(path, importer, options)
    importer.statistics.finish()
    if importer.erased_customers:
        summary.notes.append(
            f"erased customers anonymised: {len(importer.erased_customers):,} "
            "(their orders imported as guest orders)"
        )
    if file_format == "complete-journey":
        has_products = bool(fmt.products)
        summary.notes.append(
            "product names and categories from products.csv"
            if has_products
            else "no products.csv beside the file: new products are named by id"
        )
    return summary
