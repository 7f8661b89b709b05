"""Export the served demand and price forecasts as CSV."""

from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from django.db.models import Q

from ecomsite import csvsafe
from ecomsite.exporting import write_atomically

from .ml.panel import PERIOD_DAYS
from .selectors import active_forecast_points

FORECAST_COLUMNS = ["sku", "date", "kind", "p10", "p50", "p90"]
EXPORT_CHUNK_SIZE = 5000


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def forecast_period_filter(start: date | None = None, end: date | None = None) -> Q:
    """Periods that have not ended before `start` and begin on or before `end`.

    Either bound may be None (open). A weekly period under way on `start` is kept.
    """
    if start and end and end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    periods = Q()
    if start is not None:
        not_ended = Q()
        for frequency, days in PERIOD_DAYS.items():
            not_ended |= Q(
                frequency=frequency, period_start__gt=start - timedelta(days=days)
            )
        periods &= not_ended
    if end is not None:
        periods &= Q(period_start__lte=end)
    return periods


def export_forecasts(
    out: TextIO, start: date | None = None, end: date | None = None
) -> int:
    """Write the active demand and price forecasts to `out`; return the rows written.

    Every served period by default (the batch's origin onwards, whatever today's
    date), or those within `start`..`end` (see `forecast_period_filter`); `date` is
    the start of the period. Rows are streamed in SKU, kind and date order.
    """
    rows = (
        active_forecast_points()
        .filter(forecast_period_filter(start, end))
        .order_by("product__sku", "kind", "period_start")
        .values_list("product__sku", "period_start", "kind", "p10", "p50", "p90")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    writer = csvsafe.writer(out)
    writer.writerow(FORECAST_COLUMNS)
    count = 0
    for sku, period_start, kind, p10, p50, p90 in rows:
        writer.writerow(
            [
                sku,
                period_start.isoformat(),
                kind,
                _number(p10),
                _number(p50),
                _number(p90),
            ]
        )
        count += 1
    return count


def export_forecasts_to_file(
    path: Path, start: date | None = None, end: date | None = None
) -> int:
    return write_atomically(path, lambda out: export_forecasts(out, start, end))


def served_period_range() -> tuple[date | None, date | None]:
    """The first and last period start the active batches serve (None if none)."""
    from django.db.models import Max, Min

    bounds = active_forecast_points().aggregate(
        first=Min("period_start"), last=Max("period_start")
    )
    return bounds["first"], bounds["last"]


def products_without_forecast() -> dict[str, str]:
    """SKUs with recorded sales but no served demand forecast, with the reason."""
    from .history import history_end, products_not_forecast
    from .models import SalesRecord

    served = active_forecast_points().filter(kind="demand")
    frequency = served.values_list("frequency", flat=True).first()
    if frequency is None:
        return {}
    end = history_end(frequency)
    reasons = products_not_forecast(frequency, end) if end else {}
    missing = (
        SalesRecord.objects.filter(frequency=frequency, units__isnull=False)
        .exclude(product__in=served.values("product"))
        .values_list("product__sku", flat=True)
        .distinct()
        .order_by("product__sku")
    )
    return {
        sku: reasons.get(
            sku, "not in the served batch: run `infer demand` after importing"
        )
        for sku in missing
    }
