"""Stock and catalogue work waiting for an operator, for the dashboard."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from catalog.categorisation import review_queue
from catalog.models import StockMovement
from forecasting.models import PurchaseOrder
from forecasting.selectors import (
    ReorderAdvice,
    active_forecast_batch_id,
    reorder_advice,
)
from forecasting.selectors import _urgency as urgency  # the admin lists' own order

from ..models import ModelKind

STOCKOUT_DAYS = 28
CACHE_SECONDS = 300


@dataclass(frozen=True)
class StockWatch:
    """The first few products to reorder now and those running out soon."""

    reorder_now: list[ReorderAdvice]
    reorder_now_count: int
    stockouts: list[ReorderAdvice]
    stockouts_count: int
    days: int = STOCKOUT_DAYS
    as_of: datetime = field(default_factory=timezone.now)


def stock_watch(*, limit: int = 5, today: date | None = None) -> StockWatch:
    """Return the reorder-now list and upcoming stock-outs (P90 within 28 days), most
    urgent first, from one pass of the reorder advice (as the admin lists order them).
    """
    today = today or timezone.localdate()
    advice = sorted(reorder_advice(today=today), key=urgency)
    reorder = [a for a in advice if a.projection.reorder_now]
    soon = today + timedelta(days=STOCKOUT_DAYS)
    stockouts = [
        a
        for a in advice
        if a.projection.stockout_p90 is not None and a.projection.stockout_p90 < soon
    ]
    return StockWatch(reorder[:limit], len(reorder), stockouts[:limit], len(stockouts))


def stock_watch_cached(*, limit: int = 5) -> StockWatch:
    """Return `stock_watch()`, kept until the forecast, stock or purchase orders
    change (five minutes at most).

    Projecting every stock-tracked product takes seconds with tens of thousands of
    them (the same work as the "Reorder now" page), too slow for the admin's home
    page on every visit; the page says when the figures were computed.
    """
    orders = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.OPEN).aggregate(
        n=Count("pk"), last=Max("pk")
    )
    version = (
        active_forecast_batch_id(ModelKind.DEMAND),
        timezone.localdate().isoformat(),
        StockMovement.objects.aggregate(last=Max("pk"))["last"],
        orders["n"],
        orders["last"],
        limit,
    )
    key = "dashboard:stock-watch:" + ":".join(map(str, version))
    return cache.get_or_set(key, lambda: stock_watch(limit=limit), CACHE_SECONDS)


def review_queue_size() -> int:
    """Return how many products wait for a category decision."""
    return review_queue().order_by().count()
