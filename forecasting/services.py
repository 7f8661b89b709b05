"""Writes of the forecasting app: sales history from orders, purchase orders."""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, F, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import PriceChange, Product, StockMovement
from catalog.services import stock_record_movement
from orders.models import Order, OrderLine

from .models import PurchaseOrder, SalesRecord
from .selectors import reorder_advice

MONEY = DecimalField(max_digits=16, decimal_places=4)
REFRESH_CHUNK_DAYS = 31
WRITE_BATCH_SIZE = 5000
PRICE_PLACES = Decimal("0.0001")
PROMO_DISCOUNT = Decimal("0.95")  # paid at most 95% of the list price: a promotion
LIST_PRICE_SOURCES = (PriceChange.Source.MANUAL, PriceChange.Source.IMPORT)
REFRESHED_FIELDS = ("units", "revenue", "price", "base_price", "promo", "stockout")

# --- Sales history from orders ------------------------------------------------------

WATERMARK_KEY = "forecasting:sales-history-watermark"
WATERMARK_SAFETY = timedelta(minutes=10)  # orders saved late in a long transaction


def sales_history_refresh(since: date | None = None) -> int:
    """Rebuild the daily order-derived SalesRecords of the days touched; return rows
    written or deleted.

    With `since`, every day from it to today is recomputed. Without, the days from
    the last order-derived day to today, plus the days of the orders created or
    changed since the last refresh started (its watermark, kept in the cache, less a
    margin for orders committed late; without it, since the start of the last
    order-derived day, which no later change can predate).

    A record holds a day's units and revenue of sales orders not cancelled, the
    average price paid, the list price of that day from the price history, a
    promotion flag (paid clearly below list), and the stock-out flag from the stock
    ledger; a stock-tracked product out of stock on a day without sales gets a
    record of zero units. Imported sales are never overwritten; a planned price of a
    day that has come gives way to what was sold. Unchanged records are not
    rewritten, so a second run writes nothing.
    """
    today = timezone.localdate()
    started = timezone.now()
    days = sorted(_days_to_refresh(since, today))
    list_prices = _ListPrices(today) if days else None
    written = 0
    for first, last in _chunks(days):
        with transaction.atomic():
            written += _refresh_days(first, last, list_prices)
    if since is None:
        cache.set(WATERMARK_KEY, (_last_order_day(), started), timeout=None)
    return written


def _last_order_day() -> date | None:
    return SalesRecord.objects.filter(
        source=SalesRecord.Source.ORDERS, frequency=SalesRecord.Frequency.DAY
    ).aggregate(last=Max("period_start"))["last"]


def _days_to_refresh(since: date | None, today: date) -> set[date]:
    if since is not None:
        return set(_day_range(since, today))
    last = _last_order_day()
    if last is None:
        first = Order.objects.aggregate(first=Min("placed_at"))["first"]
        if first is None:
            return set()
        return set(_day_range(timezone.localdate(first), today))
    cutoff = _day_start(last)
    watermark = cache.get(WATERMARK_KEY)
    if watermark and watermark[0] == last:  # the same history as last time
        cutoff = max(cutoff, watermark[1] - WATERMARK_SAFETY)
    changed = (
        Order.objects.filter(updated_at__gte=cutoff)
        .annotate(day=TruncDate("placed_at"))
        .values_list("day", flat=True)
        .distinct()
    )
    return {day for day in changed if day <= today} | set(_day_range(last, today))


def _day_range(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _chunks(days: list[date]) -> Iterator[tuple[date, date]]:
    """Group sorted days into runs of consecutive days, at most a month each."""
    start = previous = None
    for day in days:
        if start is None:
            start = previous = day
        elif (day - previous).days == 1 and (day - start).days < REFRESH_CHUNK_DAYS:
            previous = day
        else:
            yield start, previous
            start = previous = day
    if start is not None:
        yield start, previous


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _refresh_days(first: date, last: date, list_prices: "_ListPrices") -> int:
    """Recompute the order-derived records of the days first..last (inclusive)."""
    start, end = _day_start(first), _day_start(last + timedelta(days=1))
    sales = _sales_by_product_day(start, end)
    stockouts = _stockout_days(start, end, first, last)
    stored = {
        (product_id, day): (source, tuple(values))
        for product_id, day, source, *values in SalesRecord.objects.filter(
            frequency=SalesRecord.Frequency.DAY,
            period_start__range=(first, last),
        ).values_list("product_id", "period_start", "source", *REFRESHED_FIELDS)
    }
    keys = set(sales) | stockouts
    rows = []
    for key in keys:
        source, before = stored.get(key, (SalesRecord.Source.ORDERS, None))
        if source == SalesRecord.Source.IMPORT and before[0] is not None:
            continue  # imported sales stay as they are
        values = _day_values(key, sales.get(key), key in stockouts, list_prices)
        if values != before:
            rows.append((*key, *values))
    _upsert(rows)
    gone = [
        key
        for key, (source, _) in stored.items()
        if source == SalesRecord.Source.ORDERS and key not in keys
    ]
    return len(rows) + _delete_records(gone)


def _upsert(rows: list[tuple]) -> None:
    """Insert or update (product, day, *REFRESHED_FIELDS) rows as daily order records."""
    SalesRecord.objects.bulk_create(
        [
            SalesRecord(
                product_id=product_id,
                period_start=day,
                frequency=SalesRecord.Frequency.DAY,
                source=SalesRecord.Source.ORDERS,
                **dict(zip(REFRESHED_FIELDS, values, strict=True)),
            )
            for product_id, day, *values in rows
        ],
        batch_size=WRITE_BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["product", "frequency", "period_start"],
        update_fields=[*REFRESHED_FIELDS, "source"],
    )


def _sales_by_product_day(start: datetime, end: datetime) -> dict:
    rows = (
        OrderLine.objects.filter(
            order__placed_at__gte=start,
            order__placed_at__lt=end,
            order__kind=Order.Kind.SALE,
        )
        .exclude(order__status=Order.Status.CANCELLED)
        .annotate(day=TruncDate("order__placed_at"))
        .values("product_id", "day")
        .annotate(
            units=Sum("quantity"),
            revenue=Sum(F("quantity") * F("unit_price"), output_field=MONEY),
        )
        .values_list("product_id", "day", "units", "revenue")
    )
    return {
        (product_id, day): (units, Decimal(revenue))
        for product_id, day, units, revenue in rows
    }


def _stockout_days(start: datetime, end: datetime, first: date, last: date) -> set:
    """Return (product, day) pairs where a stock-tracked product was at 0.

    A day counts when a movement left the product at 0, or when the day began at 0.
    Before its first movement a product's stock is unknown and never counts.
    """
    opening_balance = (
        StockMovement.objects.filter(product=OuterRef("pk"), occurred_at__lt=start)
        .order_by("-occurred_at", "-id")
        .values("balance_after")[:1]
    )
    opening = dict(
        Product.objects.filter(stock_tracked=True)
        .annotate(balance=Subquery(opening_balance))
        .filter(balance__isnull=False)
        .values_list("pk", "balance")
    )
    movements = defaultdict(list)
    for product_id, occurred_at, balance in (
        StockMovement.objects.filter(
            occurred_at__gte=start,
            occurred_at__lt=end,
            product__stock_tracked=True,
        )
        .order_by("product_id", "occurred_at", "id")
        .values_list("product_id", "occurred_at", "balance_after")
    ):
        movements[product_id].append((timezone.localdate(occurred_at), balance))
    days = list(_day_range(first, last))
    stockouts = set()
    for product_id, balance in opening.items():
        if balance == 0 and product_id not in movements:
            stockouts.update((product_id, day) for day in days)
    for product_id, moves in movements.items():
        balance = opening.get(product_id)
        moves = iter(moves)
        move = next(moves, None)
        for day in days:
            out = balance == 0
            while move is not None and move[0] == day:
                balance = move[1]
                out = out or balance == 0
                move = next(moves, None)
            if out:
                stockouts.add((product_id, day))
    return stockouts


class _ListPrices:
    """Each product's list price by day: its latest own (manual or imported) price
    change effective by the end of the day, else its current price."""

    def __init__(self, today: date):
        self.history = defaultdict(lambda: ([], []))
        for product_id, effective_at, price in (
            PriceChange.objects.filter(
                source__in=LIST_PRICE_SOURCES,
                effective_at__lt=_day_start(today + timedelta(days=1)),
            )
            .order_by("product_id", "effective_at", "id")
            .values_list("product_id", "effective_at", "price")
            .iterator(chunk_size=WRITE_BATCH_SIZE)
        ):
            days, prices = self.history[product_id]
            days.append(timezone.localdate(effective_at))
            prices.append(price)
        self.current = dict(Product.objects.values_list("pk", "price"))

    def on(self, product_id: int, day: date) -> Decimal | None:
        days, prices = self.history.get(product_id, ((), ()))
        index = bisect_right(days, day)
        return prices[index - 1] if index else self.current.get(product_id)


def _day_values(key, sales, stockout: bool, list_prices: _ListPrices) -> tuple:
    """Return the REFRESHED_FIELDS of a product's day."""
    product_id, day = key
    base_price = list_prices.on(product_id, day)
    units, revenue = sales or (0, Decimal(0))
    price = None
    promo = 0.0
    if units:
        price = (revenue / units).quantize(PRICE_PLACES)
        if base_price and price <= base_price * PROMO_DISCOUNT:
            promo = 1.0
    return (Decimal(units), revenue, price, base_price, promo, stockout)


def _delete_records(keys: Iterable[tuple[int, date]]) -> int:
    """Delete order-derived records of days whose sales were all cancelled."""
    by_day = defaultdict(list)
    for product_id, day in keys:
        by_day[day].append(product_id)
    deleted = 0
    for day, product_ids in by_day.items():
        deleted += SalesRecord.objects.filter(
            source=SalesRecord.Source.ORDERS,
            frequency=SalesRecord.Frequency.DAY,
            period_start=day,
            product_id__in=product_ids,
        ).delete()[0]
    return deleted


# --- Planned prices and promotions -------------------------------------------------


def sales_record_check(
    *, units, period_start: date, price, promo: float, today: date | None = None
) -> None:
    """Raise ValidationError, by field, unless the record is a sale of a day that has
    come or a plan (empty units, a price or promotion) of a future one."""
    today = today or timezone.localdate()
    if units is None:
        errors = {}
        if period_start is not None and period_start <= today:
            errors["period_start"] = (
                f"A planned price or promotion must be for a future date (after "
                f"{today}); enter units for a past one."
            )
        if price is None and not promo:
            errors["price"] = "Give the planned price, a promotion share, or both."
        if errors:
            raise ValidationError(errors)
    elif period_start is not None and period_start > today:
        raise ValidationError(
            {
                "units": "Sales of a future date cannot be known; leave units empty "
                "to plan a price or promotion."
            }
        )


@transaction.atomic
def sales_record_save(*, record: SalesRecord) -> SalesRecord:
    """Check and save a sales record or plan entered by hand; revenue follows."""
    sales_record_check(
        units=record.units,
        period_start=record.period_start,
        price=record.price,
        promo=record.promo,
    )
    record.revenue = None
    if record.units is not None and record.price is not None:
        record.revenue = (record.units * record.price).quantize(Decimal("0.0001"))
    record.full_clean()
    record.save()
    return record


# --- Purchase orders ----------------------------------------------------------------


@transaction.atomic
def purchase_order_create(
    *,
    product: Product,
    quantity: int,
    expected_on: date,
    user=None,
    ordered_on: date | None = None,
    supplier_reference: str = "",
    note: str = "",
) -> PurchaseOrder:
    """Record an open purchase order: stock on its way, due on `expected_on`."""
    order = PurchaseOrder(
        product=product,
        quantity=quantity,
        ordered_on=ordered_on or timezone.localdate(),
        expected_on=expected_on,
        supplier_reference=supplier_reference,
        note=note,
        created_by=user,
    )
    errors = {}
    if quantity is None or quantity <= 0:
        errors["quantity"] = "Order at least one unit."
    if expected_on is not None and expected_on < order.ordered_on:
        errors["expected_on"] = (
            f"The delivery cannot be due before the order is placed "
            f"({order.ordered_on})."
        )
    if errors:
        raise ValidationError(errors)
    order.full_clean()
    order.save()
    return order


@transaction.atomic
def purchase_order_receive(
    *, purchase_order: PurchaseOrder, user=None
) -> PurchaseOrder:
    """Receive an open purchase order: restock its units through the stock ledger.

    The order is locked first, so receiving it twice (two clicks, two operators)
    restocks once; the second attempt gets a ValidationError.
    """
    order = PurchaseOrder.objects.select_for_update().get(pk=purchase_order.pk)
    if order.status != PurchaseOrder.Status.OPEN:
        raise ValidationError(
            f"Purchase order {order.pk} is {order.get_status_display().lower()}; "
            "only open orders can be received."
        )
    stock_record_movement(
        product=order.product,
        kind=StockMovement.Kind.RESTOCK,
        quantity=order.quantity,
        reference=purchase_order_reference(order),
        note=order.supplier_reference,
        user=user,
    )
    order.status = PurchaseOrder.Status.RECEIVED
    order.received_at = timezone.now()
    order.save(update_fields=["status", "received_at"])
    purchase_order.status, purchase_order.received_at = order.status, order.received_at
    return order


@transaction.atomic
def purchase_order_cancel(*, purchase_order: PurchaseOrder, user=None) -> PurchaseOrder:
    """Cancel an open purchase order; it no longer counts as incoming stock."""
    order = PurchaseOrder.objects.select_for_update().get(pk=purchase_order.pk)
    if order.status != PurchaseOrder.Status.OPEN:
        raise ValidationError(
            f"Purchase order {order.pk} is {order.get_status_display().lower()}; "
            "only open orders can be cancelled."
        )
    order.status = PurchaseOrder.Status.CANCELLED
    order.save(update_fields=["status"])
    purchase_order.status = order.status
    return order


def purchase_order_reference(order: PurchaseOrder) -> str:
    """Return the stock-ledger reference of a purchase order, e.g. `PO-42`."""
    return f"PO-{order.pk}"


@transaction.atomic
def purchase_orders_create_suggested(
    *, product_ids: Iterable[int], user=None, today: date | None = None
) -> list[PurchaseOrder]:
    """Create a purchase order of the suggested quantity for each product that needs
    one, due after its lead time; return the orders created."""
    today = today or timezone.localdate()
    orders = []
    for advice in reorder_advice(product_ids=list(product_ids), today=today):
        if advice.projection.suggested_quantity <= 0:
            continue
        orders.append(
            PurchaseOrder(
                product=advice.product,
                quantity=advice.projection.suggested_quantity,
                ordered_on=today,
                expected_on=today + timedelta(days=advice.lead_time_days),
                note="Suggested by the reorder advice.",
                created_by=user,
            )
        )
    return PurchaseOrder.objects.bulk_create(orders)
