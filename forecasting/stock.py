"""Projected stock and reorder advice from a quantile demand forecast (no Django).

Assumptions, stated once:

- Demand is spread evenly over the days of a period; the projection runs day by day.
  Incoming stock arrives at the start of its day, before that day's sales; overdue
  orders are expected on the first projected day.
- Unmet demand is lost, not back-ordered: on hand never goes below zero.
- Each period's demand is normal with mean P50 and standard deviation
  (P90 − P10) / 2.563 (the distance between the 10th and 90th percentiles of a
  standard normal). Days, and periods, are independent, so over a window the means
  add up and so do the variances; a part of a period counts pro rata for both.
  Beyond the forecast horizon the average daily mean and variance of the horizon
  continue.
- Reorder point: the service-level quantile of demand over the lead time.
  Suggested quantity: the service-level quantile of demand over lead time plus review
  period, less on hand and everything already on order.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

P10_P90_SPREAD = NormalDist().inv_cdf(0.9) - NormalDist().inv_cdf(0.1)  # 2.563
EMPTY = 1e-9


@dataclass(frozen=True)
class StockProjection:
    """Where a product's stock is heading, and what to order now."""

    dates: list[date]  # start of each future period
    on_hand_p50: list[float]  # on hand at the end of each period if demand = P50
    on_hand_p90: list[float]  # … if demand = P90 (the pessimistic path)
    stockout_p50: date | None  # first day on hand hits 0 at P50 demand
    stockout_p90: date | None
    days_of_cover: float | None  # on hand / mean daily P50 demand
    reorder_point: float  # demand over the lead time at the service level
    suggested_quantity: int  # lead time + review at the service level, less stock
    reorder_now: bool  # on hand + incoming due within lead time <= reorder point
    runs_out_before_delivery: bool  # stock-out (P50) before today + lead time


@dataclass(frozen=True)
class _DailyDemand:
    """Per-day mean and variance of demand from `first` onwards, one entry a day."""

    first: date
    mean: list[float]
    variance: list[float]
    p90: list[float]

    def window(self, days: int) -> tuple[float, float]:
        """Return mean and variance of demand over the next `days` days."""
        known = min(days, len(self.mean))
        mean = sum(self.mean[:known])
        variance = sum(self.variance[:known])
        extra = days - known
        if extra > 0 and self.mean:
            mean += extra * sum(self.mean) / len(self.mean)
            variance += extra * sum(self.variance) / len(self.variance)
        return mean, variance


def project_stock(
    *,
    on_hand: int,
    dates: list[date],
    period_days: int,
    p10: Sequence[float],
    p50: Sequence[float],
    p90: Sequence[float],
    incoming: Sequence[tuple[date, int]],
    lead_time_days: int,
    review_days: int,
    service_level: float,
    today: date,
) -> StockProjection:
    """Project on hand per period at P50 and P90 demand and advise on reordering.

    `dates` are the period starts of the forecast, `period_days` long each (1 or 7);
    periods that ended before `today` are dropped, and a period under way counts
    only for its remaining days. `incoming` holds (expected date, units) of open
    purchase orders. See the module docstring for the assumptions.
    """
    if not len(dates) == len(p10) == len(p50) == len(p90):
        raise ValueError("dates, p10, p50 and p90 must have the same length.")
    if period_days < 1:
        raise ValueError("period_days must be at least 1.")
    if not 0 < service_level < 1:
        raise ValueError("service_level must be between 0 and 1.")
    demand = _daily_demand(dates, period_days, p10, p50, p90, today)
    arrivals = _arrivals_by_day(incoming, demand.first)

    on_hand_p50 = _project(on_hand, demand.mean, arrivals)
    on_hand_p90 = _project(on_hand, demand.p90, arrivals)
    future = [
        (start, index)
        for index, start in enumerate(dates)
        if start + timedelta(days=period_days) > today
    ]
    ends = [
        (start + timedelta(days=period_days - 1) - demand.first).days
        for start, _ in future
    ]

    z = NormalDist().inv_cdf(float(service_level))
    lead_mean, lead_variance = demand.window(lead_time_days)
    reorder_point = max(0.0, lead_mean + z * math.sqrt(lead_variance))
    cover_mean, cover_variance = demand.window(lead_time_days + review_days)
    order_up_to = max(0.0, cover_mean + z * math.sqrt(cover_variance))
    on_order = sum(units for _, units in incoming)
    due_within_lead_time = sum(
        units
        for due, units in incoming
        if due <= today + timedelta(days=lead_time_days)
    )
    stockout_p50 = _first_empty_day(on_hand_p50, demand.first)
    daily_p50 = sum(demand.mean) / len(demand.mean) if demand.mean else 0.0
    return StockProjection(
        dates=[start for start, _ in future],
        on_hand_p50=[on_hand_p50[end] for end in ends],
        on_hand_p90=[on_hand_p90[end] for end in ends],
        stockout_p50=stockout_p50,
        stockout_p90=_first_empty_day(on_hand_p90, demand.first),
        days_of_cover=max(on_hand, 0) / daily_p50 if daily_p50 > EMPTY else None,
        reorder_point=reorder_point,
        suggested_quantity=max(0, math.ceil(order_up_to - on_hand - on_order - EMPTY)),
        reorder_now=on_hand + due_within_lead_time <= reorder_point,
        runs_out_before_delivery=stockout_p50 is not None
        and stockout_p50 < today + timedelta(days=lead_time_days),
    )


def _daily_demand(dates, period_days, p10, p50, p90, today) -> _DailyDemand:
    """Spread each period's quantiles over its days, from max(today, first date)."""
    first = max(today, dates[0]) if dates else today
    mean: list[float] = []
    variance: list[float] = []
    pessimistic: list[float] = []
    for start, low, mid, high in zip(dates, p10, p50, p90, strict=True):
        sigma = max(0.0, float(high) - float(low)) / P10_P90_SPREAD
        for offset in range(period_days):
            if start + timedelta(days=offset) < first:
                continue
            mean.append(max(0.0, float(mid)) / period_days)
            variance.append(sigma * sigma / period_days)
            pessimistic.append(max(0.0, float(high)) / period_days)
    return _DailyDemand(first, mean, variance, pessimistic)


def _arrivals_by_day(incoming, first: date) -> dict[int, int]:
    arrivals: dict[int, int] = {}
    for due, units in incoming:
        day = max(0, (due - first).days)
        arrivals[day] = arrivals.get(day, 0) + units
    return arrivals


def _project(on_hand: int, daily: list[float], arrivals: dict[int, int]) -> list[float]:
    """Return on hand at the end of each day: arrivals first, then lost sales."""
    level = float(max(on_hand, 0))
    levels = []
    for day, units in enumerate(daily):
        level = max(0.0, level + arrivals.get(day, 0) - units)
        levels.append(level)
    return levels


def _first_empty_day(levels: list[float], first: date) -> date | None:
    for day, level in enumerate(levels):
        if level <= EMPTY:
            return first + timedelta(days=day)
    return None
