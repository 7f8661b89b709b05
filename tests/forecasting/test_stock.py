"""Projected stock and reorder advice on hand-computed numbers."""

import math
from datetime import date, timedelta

import pytest

from forecasting.stock import project_stock

TODAY = date(2026, 3, 2)


def days(n, start=TODAY):
    return [start + timedelta(days=i) for i in range(n)]


def project(**overrides):
    arguments = {
        "on_hand": 10,
        "dates": days(5),
        "period_days": 1,
        "p10": [2.0] * 5,
        "p50": [3.0] * 5,
        "p90": [4.0] * 5,
        "incoming": [],
        "lead_time_days": 2,
        "review_days": 1,
        "service_level": 0.5,
        "today": TODAY,
    }
    arguments.update(overrides)
    return project_stock(**arguments)


def test_daily_paths_stockout_dates_and_cover():
    projection = project()
    assert projection.dates == days(5)
    assert projection.on_hand_p50 == [7, 4, 1, 0, 0]
    assert projection.on_hand_p90 == [6, 2, 0, 0, 0]
    assert projection.stockout_p50 == TODAY + timedelta(days=3)
    assert projection.stockout_p90 == TODAY + timedelta(days=2)
    assert projection.days_of_cover == pytest.approx(10 / 3)


def test_median_service_level_orders_the_expected_demand():
    projection = project()
    assert projection.reorder_point == pytest.approx(6.0)  # 2 days × 3
    assert projection.suggested_quantity == 0  # 3 days × 3 = 9 < 10 on hand
    assert not projection.reorder_now
    assert not projection.runs_out_before_delivery


def test_service_level_adds_safety_stock_from_the_p10_p90_spread():
    # sigma per day = (4 - 2) / 2.563; z(0.9) = 2.563 / 2, so z × sigma = 1 per day
    # and over 2 independent days z × sigma × √2.
    projection = project(service_level=0.9)
    assert projection.reorder_point == pytest.approx(6 + math.sqrt(2))
    # lead 2 + review 1: 9 + √3 = 10.73 → 11 - 10 on hand.
    assert projection.suggested_quantity == 1


def test_runs_out_before_a_new_order_could_arrive():
    projection = project(on_hand=4, lead_time_days=3, review_days=4)
    assert projection.stockout_p50 == TODAY + timedelta(days=1)
    assert projection.reorder_now  # 4 <= 9
    assert projection.runs_out_before_delivery
    # 7 days × 3 = 21, of which 5 beyond the horizon at its mean rate, less 4.
    assert projection.suggested_quantity == 17


def test_incoming_stock_moves_the_stockout_and_counts_against_the_order():
    projection = project(
        incoming=[(TODAY + timedelta(days=2), 5), (TODAY + timedelta(days=30), 4)],
        lead_time_days=2,
        review_days=4,
    )
    # Day 2 gets 5 units before its sales: 7, 4, 6, 3, 0.
    assert projection.on_hand_p50 == [7, 4, 6, 3, 0]
    assert projection.stockout_p50 == TODAY + timedelta(days=4)
    # Order up to 6 days × 3 = 18, less 10 on hand and 9 on order.
    assert projection.suggested_quantity == 0
    # Within the lead time (2 days) only the first order is due: 10 + 5 > 6.
    assert not projection.reorder_now


def test_overdue_orders_arrive_on_the_first_day():
    projection = project(on_hand=0, incoming=[(TODAY - timedelta(days=3), 6)])
    assert projection.on_hand_p50[:3] == [3, 0, 0]
    assert projection.stockout_p50 == TODAY + timedelta(days=1)


def test_weekly_period_under_way_counts_only_its_remaining_days():
    weeks = [TODAY, TODAY + timedelta(days=7)]
    projection = project(
        on_hand=20,
        dates=weeks,
        period_days=7,
        p10=[14.0, 14.0],
        p50=[14.0, 14.0],
        p90=[21.0, 28.0],
        lead_time_days=5,
        review_days=7,
        today=TODAY + timedelta(days=3),
    )
    # 4 days left of week 1 at 2 a day: 20 → 12; week 2: 12 → 0 on its 6th day.
    assert projection.dates == weeks
    assert projection.on_hand_p50 == pytest.approx([12, 0])
    assert projection.stockout_p50 == TODAY + timedelta(days=3 + 4 + 5)
    # P90: 3 a day then 4 a day: 20 → 8, then empty on the 2nd day of week 2.
    assert projection.stockout_p90 == TODAY + timedelta(days=3 + 4 + 1)
    assert projection.days_of_cover == pytest.approx(10.0)
    assert projection.reorder_point == pytest.approx(10.0)


def test_past_periods_are_dropped():
    projection = project(dates=days(5, start=TODAY - timedelta(days=2)))
    assert projection.dates == days(3)
    assert projection.on_hand_p50 == [7, 4, 1]


def test_no_demand_means_no_stockout_and_unbounded_cover():
    projection = project(p10=[0.0] * 5, p50=[0.0] * 5, p90=[0.0] * 5)
    assert projection.stockout_p50 is None
    assert projection.days_of_cover is None
    assert projection.reorder_point == 0
    assert projection.suggested_quantity == 0


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="same length"):
        project(p90=[4.0] * 4)
