"""Export the served demand and price forecasts as CSV."""

from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from django.db.models import Q
from django.utils import timezone

from ecomsite import csvsafe
from ecomsite.exporting import write_atomically

from .ml.panel import PERIOD_DAYS
from .selectors import active_forecast_points

FORECAST_COLUMNS = ["sku", "date", "kind", "p10", "p50", "p90"]
EXPORT_CHUNK_SIZE = 5000


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def export_forecasts(out: TextIO, today: date | None = None) -> int:
    """Write the active demand and price forecasts to `out`; return the rows written.

    One row per product, kind and period that has not ended by `today`; `date` is the
    start of the period. Rows are streamed in SKU, kind and date order.
    """
    today = today or timezone.localdate()
    not_ended = Q()
    for frequency, days in PERIOD_DAYS.items():
        not_ended |= Q(
            frequency=frequency, period_start__gt=today - timedelta(days=days)
        )
    rows = (
        active_forecast_points()
        .filter(not_ended)
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


def export_forecasts_to_file(path: Path) -> int:
    return write_atomically(path, export_forecasts)
