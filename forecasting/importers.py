"""Import sales history `sku,date,units,price[,base_price,promo,competitor_price,
stockout,cost]`.

Rows become SalesRecords, upserted on (product, frequency, period_start) so that
re-running a file adds nothing. A row with empty `units` is a planned price or
promotion for a future period. `cost` is the unit cost of the period and
`competitor_price` a competitor's price for the product, both optional: the price
forecast uses them where given. The frequency (daily or weekly) is read from the
spacing of each SKU's dates at the start of the file unless it is given.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path

from django.conf import settings

from catalog.models import Product
from catalog.services import SkuIndex
from ecomsite.importing import (
    BatchResult,
    CsvRows,
    GrowthAnalyzer,
    ImportFileError,
    ImportOptions,
    ImportSummary,
    Row,
    RowRejected,
    decimal,
    iso_date,
    run_import,
    text,
)

from .models import SalesRecord

FREQUENCY_SAMPLE_ROWS = 20_000
REQUIRED_COLUMNS = ("sku", "date", "units", "price")
OPTIONAL_COLUMNS = ("base_price", "promo", "competitor_price", "stockout", "cost")
COMPARED_FIELDS = (
    "units",
    "price",
    "base_price",
    "promo",
    "competitor_price",
    "stockout",
    "cost",
    "revenue",
)
TRUE_FLAGS = {"1", "true", "yes", "y"}
FALSE_FLAGS = {"", "0", "false", "no", "n"}
REVENUE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class SalesRow:
    """One valid row; `units` None marks a planned period."""

    sku: str
    period_start: date
    units: Decimal | None
    price: Decimal | None
    base_price: Decimal | None
    promo: float
    competitor_price: Decimal | None
    stockout: bool = False
    cost: Decimal | None = None

    @property
    def revenue(self) -> Decimal | None:
        """Return units × price, or None when either is unknown (planned rows)."""
        if self.units is None or self.price is None:
            return None
        return (self.units * self.price).quantize(REVENUE_PLACES)

    def compared(self) -> tuple:
        return tuple(getattr(self, name) for name in COMPARED_FIELDS)


def price_field(values: dict[str, str], name: str) -> Decimal | None:
    return decimal(values, name, required=False, min_value=Decimal(0), decimal_places=4)


def promo_share(values: dict[str, str]) -> float:
    """Return the promotion share: a 0/1 flag or a share between 0 and 1."""
    raw = (values.get("promo") or "").strip()
    if not raw:
        return 0.0
    try:
        share = float(raw)
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise RowRejected(
            "promo", f"{raw[:20]!r} is not a share; expected 0, 1 or a number between"
        )
    return share


def stockout_flag(values: dict[str, str]) -> bool:
    """Return the stock-out flag: 0/1, true/false or yes/no; empty is no."""
    raw = (values.get("stockout") or "").strip()
    if raw.lower() in TRUE_FLAGS:
        return True
    if raw.lower() in FALSE_FLAGS:
        return False
    raise RowRejected(
        "stockout", f"{raw[:20]!r} is not a flag; expected 0, 1, true or false"
    )


class SalesImporter:
    """Parse and upsert rows of the aggregated sales CSV at one frequency."""

    required_columns = REQUIRED_COLUMNS
    optional_columns = OPTIONAL_COLUMNS
    unit = "sales records"

    def __init__(self, *, frequency: str):
        self.frequency = frequency
        self._products = SkuIndex()
        self.statistics = GrowthAnalyzer([SalesRecord, Product])

    def parse(self, values: dict[str, str]) -> SalesRow:
        """Return the row checked; empty units need a planned price or promo."""
        row = SalesRow(
            sku=text(values, "sku", max_length=64),
            period_start=iso_date(values, "date"),
            units=decimal(
                values,
                "units",
                required=False,
                min_value=Decimal(0),
                max_digits=14,
                decimal_places=3,
                places_hint="12 (or empty for a planned period)",
            ),
            price=price_field(values, "price"),
            base_price=price_field(values, "base_price"),
            promo=promo_share(values),
            competitor_price=price_field(values, "competitor_price"),
            stockout=stockout_flag(values),
            cost=price_field(values, "cost"),
        )
        if row.units is None and row.price is None and not row.promo:
            raise RowRejected(
                "units",
                "is empty but no price or promo is given; expected units sold, or a "
                "planned price or promotion",
            )
        return row

    def write(self, rows: list[Row]) -> BatchResult:
        """Upsert the batch's records; identical ones count as already present."""
        result = BatchResult()
        accepted: dict[tuple[str, date], Row] = {}
        for row in rows:
            key = (row.parsed.sku, row.parsed.period_start)
            if key in accepted:
                result.rejects.append(
                    (
                        row,
                        f"date: {key[1]} of {key[0]} already appears on line "
                        f"{accepted[key].line}; expected one row per SKU and period",
                    )
                )
            else:
                accepted[key] = row
        product_ids = self._ensure_products(
            [row.parsed for row in accepted.values()], result
        )
        stored = {
            (product_id, period_start): values
            for product_id, period_start, *values in SalesRecord.objects.filter(
                frequency=self.frequency,
                product_id__in={product_ids[sku] for sku, _ in accepted},
                period_start__in={period for _, period in accepted},
            ).values_list("product_id", "period_start", *COMPARED_FIELDS)
        }
        records = []
        for (sku, period_start), row in accepted.items():
            data: SalesRow = row.parsed
            before = stored.get((product_ids[sku], period_start))
            if before is not None and tuple(before) == data.compared():
                result.already_present += 1
                continue
            if before is None:
                result.imported += 1
            else:
                result.updated += 1
            records.append(
                SalesRecord(
                    product_id=product_ids[sku],
                    period_start=period_start,
                    frequency=self.frequency,
                    units=data.units,
                    price=data.price,
                    base_price=data.base_price,
                    promo=data.promo,
                    competitor_price=data.competitor_price,
                    stockout=data.stockout,
                    cost=data.cost,
                    revenue=data.revenue,
                    source=SalesRecord.Source.IMPORT,
                )
            )
        SalesRecord.objects.bulk_create(
            records,
            update_conflicts=True,
            unique_fields=["product", "frequency", "period_start"],
            update_fields=[*COMPARED_FIELDS, "source"],
        )
        self.statistics.batch_written()
        return result

    def _ensure_products(self, rows: list[SalesRow], result: BatchResult):
        first_seen: dict[str, SalesRow] = {}
        for row in rows:
            first_seen.setdefault(row.sku, row)
        result.created["products"] += self._products.ensure(
            first_seen,
            lambda row: Product(
                sku=row.sku,
                name=row.sku,
                price=round(row.price or Decimal(0), 2),
                currency=settings.SHOP_CURRENCY,
            ),
        )
        return self._products.ids


def detect_frequency(
    path: Path, *, encoding: str, sample_rows: int = FREQUENCY_SAMPLE_ROWS
) -> str:
    """Return D or W from the spacing of each SKU's dates in the first rows."""
    rows = CsvRows(
        path, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, encoding=encoding
    )
    dates: dict[str, set[date]] = defaultdict(set)
    try:
        for item in islice(rows, sample_rows):
            if isinstance(item, Row):
                try:
                    sku = text(item.values, "sku")
                    dates[sku].add(iso_date(item.values, "date"))
                except RowRejected:
                    continue
    finally:
        rows.close()
    gaps = set()
    for periods in dates.values():
        ordered = sorted(periods)
        gaps.update((b - a).days for a, b in zip(ordered, ordered[1:], strict=False))
    if not gaps:
        raise ImportFileError(
            f"Cannot tell whether {path} is daily or weekly: no SKU has two dates in "
            f"its first {sample_rows:,} rows; pass --frequency D or W."
        )
    if all(gap % 7 == 0 for gap in gaps):
        return SalesRecord.Frequency.WEEK
    if min(gaps) == 1:
        return SalesRecord.Frequency.DAY
    raise ImportFileError(
        f"Cannot tell whether {path} is daily or weekly: dates of a SKU are "
        f"{min(gaps)} days apart; expected 1 (daily) or 7 (weekly). Pass --frequency "
        "D or W."
    )


def import_sales(
    path: Path, *, frequency: str | None = None, options: ImportOptions | None = None
) -> ImportSummary:
    """Import aggregated sales history; detect the frequency unless it is given."""
    options = options or ImportOptions()
    path = Path(path)
    if frequency is None:
        frequency = detect_frequency(path, encoding=options.encoding)
        how = "detected"
    else:
        how = "given"
    if frequency not in SalesRecord.Frequency.values:
        raise ImportFileError(f"Unknown frequency {frequency!r}; expected D or W.")
    importer = SalesImporter(frequency=frequency)
    summary = run_import(path, importer, options)
    importer.statistics.finish()
    label = SalesRecord.Frequency(frequency).label.lower()
    summary.notes.append(f"frequency: {frequency} ({label}, {how})")
    return summary
