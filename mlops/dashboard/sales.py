"""Sales figures of a period for the dashboard: totals, top products and categories.

Revenue and orders come from the orders themselves (sales, not cancelled); top
products and categories from the daily sales history (forecasting.SalesRecord), which
also holds imported history. Each figure has its daily series for a sparkline; the
whole overview takes five queries, however many products there are.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, F, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from forecasting.models import SalesRecord
from orders.models import Order

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
TOP = 5


@dataclass(frozen=True)
class RankedSeries:
    """A product or category with its period totals and its daily units."""

    pk: int
    label: str
    revenue: Decimal
    units: Decimal
    daily_units: list[float]


@dataclass(frozen=True)
class SalesOverview:
    """Totals of the period, the same for the period before, and the leaders."""

    days: int
    first: date
    last: date
    currency: str
    revenue: Decimal
    orders: int
    previous_revenue: Decimal
    previous_orders: int
    daily_revenue: list[float]
    daily_orders: list[int]
    top_products: list[RankedSeries]
    top_categories: list[RankedSeries]

    @property
    def average_basket(self) -> Decimal | None:
        return self.revenue / self.orders if self.orders else None

    @property
    def revenue_change(self) -> float | None:
        """Relative change against the previous period of the same length."""
        if not self.previous_revenue:
            return None
        return float(self.revenue / self.previous_revenue) - 1.0


def period_days(value: str | None) -> int:
    """Return the period asked for (7, 30 or 90 days), the default otherwise."""
    return int(value) if value in {str(p) for p in PERIODS} else DEFAULT_PERIOD


def sales_overview(*, days: int, today: date | None = None) -> SalesOverview:
    """Return the sales of the last `days` days up to and including `today`."""
    last = today or timezone.localdate()
    first = last - timedelta(days=days - 1)
    previous_first = first - timedelta(days=days)
    per_day = dict.fromkeys(_dates(previous_first, last), (Decimal(0), 0))
    rows = (
        Order.objects.filter(
            kind=Order.Kind.SALE,
            placed_at__date__gte=previous_first,
            placed_at__date__lte=last,
        )
        .exclude(status=Order.Status.CANCELLED)
        .annotate(day=TruncDate("placed_at"))
        .order_by()
        .values("day")
        .annotate(revenue=Sum("total"), orders=Count("pk"))
        .values_list("day", "revenue", "orders")
    )
    for day, revenue, orders in rows:
        per_day[day] = (revenue or Decimal(0), orders)
    current = [per_day[d] for d in _dates(first, last)]
    previous = [per_day[d] for d in _dates(previous_first, first - timedelta(days=1))]
    return SalesOverview(
        days=days,
        first=first,
        last=last,
        currency=settings.SHOP_CURRENCY,
        revenue=sum((r for r, _ in current), Decimal(0)),
        orders=sum(n for _, n in current),
        previous_revenue=sum((r for r, _ in previous), Decimal(0)),
        previous_orders=sum(n for _, n in previous),
        daily_revenue=[float(r) for r, _ in current],
        daily_orders=[n for _, n in current],
        top_products=_top(first, last, "product", ("product__sku", "product__name")),
        top_categories=_top(
            first, last, "product__category", ("product__category__path",)
        ),
    )


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _top(first: date, last: date, key: str, label_fields: tuple) -> list[RankedSeries]:
    """Return the `TOP` products or categories by revenue, with their daily units."""
    history = SalesRecord.objects.filter(
        frequency=SalesRecord.Frequency.DAY,
        units__isnull=False,
        period_start__gte=first,
        period_start__lte=last,
    ).order_by()
    money = DecimalField(max_digits=20, decimal_places=4)
    revenue = Sum(
        Coalesce("revenue", F("units") * F("price"), output_field=money),
        output_field=money,
    )
    leaders = list(
        history.filter(**{f"{key}__isnull": False})
        .values(key, *label_fields)
        .annotate(revenue=revenue, units=Sum("units"))
        .order_by("-revenue", key)[:TOP]
    )
    daily: dict[int, dict[date, float]] = defaultdict(dict)
    for pk, day, units in (
        history.filter(**{f"{key}__in": [row[key] for row in leaders]})
        .values(key, "period_start")
        .annotate(units=Sum("units"))
        .values_list(key, "period_start", "units")
    ):
        daily[pk][day] = float(units)
    days = _dates(first, last)
    return [
        RankedSeries(
            pk=row[key],
            label=" ".join(str(row[field]) for field in label_fields),
            revenue=row["revenue"] or Decimal(0),
            units=row["units"] or Decimal(0),
            daily_units=[daily[row[key]].get(d, 0.0) for d in days],
        )
        for row in leaders
    ]
