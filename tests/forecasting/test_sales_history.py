"""Daily sales history from orders: totals, prices, promotions, stock-outs, increments."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import PriceChange, StockMovement
from catalog.services import stock_record_movement
from forecasting.models import SalesRecord
from forecasting.services import _days_to_refresh, sales_history_refresh
from forecasting.tasks import refresh_sales_history
from orders.models import Order
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    PriceChangeFactory,
    ProductFactory,
    SalesRecordFactory,
)

pytestmark = pytest.mark.django_db


def days_ago(n, hour=12):
    day = timezone.localdate() - timedelta(days=n)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def sell(product, when, quantity=1, unit_price="10.00", **order):
    order = OrderFactory(placed_at=when, **order)
    return OrderLineFactory(
        order=order, product=product, quantity=quantity, unit_price=Decimal(unit_price)
    )


def records(product):
    return {
        r.period_start: r
        for r in SalesRecord.objects.filter(product=product, frequency="D")
    }


def test_days_add_up_sales_with_list_price_and_promotion():
    product = ProductFactory(stock_tracked=False, price=Decimal("10.00"))
    PriceChangeFactory(
        product=product, price=Decimal("10.00"), effective_at=days_ago(9)
    )
    PriceChangeFactory(
        product=product,
        price=Decimal("7.00"),
        source=PriceChange.Source.COMPETITOR,
        effective_at=days_ago(8),
    )
    sell(product, days_ago(3), quantity=2)
    sell(product, days_ago(3, hour=15), quantity=1, unit_price="9.50")
    sell(product, days_ago(2), quantity=4, unit_price="8.00")
    sell(product, days_ago(2), quantity=5, status=Order.Status.CANCELLED)
    sell(product, days_ago(2), quantity=6, kind=Order.Kind.RETURN)

    written = sales_history_refresh()

    by_day = records(product)
    assert written == 2 and len(by_day) == 2
    three, two = by_day[days_ago(3).date()], by_day[days_ago(2).date()]
    assert (three.units, three.revenue) == (3, Decimal("29.50"))
    assert three.price == Decimal("9.8333") and three.base_price == Decimal("10.00")
    assert three.promo == 0.0 and three.source == SalesRecord.Source.ORDERS
    assert (two.units, two.price, two.promo) == (4, Decimal("8.0000"), 1.0)
    assert not two.stockout


def test_a_second_run_writes_nothing():
    product = ProductFactory(stock_tracked=False)
    sell(product, days_ago(2))
    assert sales_history_refresh() == 1

    assert sales_history_refresh() == 0
    assert SalesRecord.objects.count() == 1


def test_late_orders_and_cancellations_of_old_days_are_picked_up():
    product = ProductFactory(stock_tracked=False)
    old = sell(product, days_ago(20), quantity=2)
    sell(product, days_ago(1), quantity=1)
    sales_history_refresh()

    sell(product, days_ago(30), quantity=5)  # imported late
    old.order.status = Order.Status.CANCELLED
    old.order.save()
    written = sales_history_refresh()

    by_day = records(product)
    assert written == 2  # one day added, one deleted
    assert by_day[days_ago(30).date()].units == 5
    assert days_ago(20).date() not in by_day  # its only order was cancelled


def test_a_rerun_recomputes_only_from_the_last_day_once_orders_are_seen():
    product = ProductFactory(stock_tracked=False)
    for n in (40, 30, 2):
        sell(product, days_ago(n))
    Order.objects.update(updated_at=timezone.now() - timedelta(hours=1))  # imported
    sales_history_refresh()
    today = timezone.localdate()

    assert _days_to_refresh(None, today) == {
        today - timedelta(days=n) for n in (2, 1, 0)
    }

    sell(product, days_ago(35))
    assert days_ago(35).date() in _days_to_refresh(None, today)


def test_imported_sales_are_never_overwritten_but_past_plans_are():
    product = ProductFactory(stock_tracked=False)
    SalesRecordFactory(product=product, period_start=days_ago(2).date(), units=7)
    SalesRecordFactory(
        product=product, period_start=days_ago(1).date(), units=None, promo=1.0
    )
    sell(product, days_ago(2), quantity=1)
    sell(product, days_ago(1), quantity=3)

    sales_history_refresh()

    by_day = records(product)
    assert by_day[days_ago(2).date()].units == 7
    assert by_day[days_ago(2).date()].source == SalesRecord.Source.IMPORT
    assert by_day[days_ago(1).date()].units == 3
    assert by_day[days_ago(1).date()].source == SalesRecord.Source.ORDERS


def test_stockout_days_come_from_the_stock_ledger():
    product = ProductFactory()
    other = ProductFactory(stock_tracked=False)
    sell(other, days_ago(6))
    restock = StockMovement.Kind.RESTOCK
    stock_record_movement(
        product=product, kind=restock, quantity=2, occurred_at=days_ago(5, 9)
    )
    stock_record_movement(
        product=product,
        kind=StockMovement.Kind.SALE,
        quantity=2,
        occurred_at=days_ago(4, 10),
    )
    stock_record_movement(
        product=product, kind=restock, quantity=5, occurred_at=days_ago(2, 8)
    )
    sell(product, days_ago(4, 10), quantity=2)

    sales_history_refresh()

    by_day = records(product)
    assert sorted(by_day) == [days_ago(n).date() for n in (4, 3, 2)]
    assert [by_day[d].stockout for d in sorted(by_day)] == [True, True, True]
    assert [by_day[d].units for d in sorted(by_day)] == [2, 0, 0]


def test_since_recomputes_every_day_from_it(capsys):
    product = ProductFactory(stock_tracked=False)
    sell(product, days_ago(5))
    sales_history_refresh()
    SalesRecord.objects.filter(product=product).update(units=9)

    call_command("refresh_sales_history", "--since", str(days_ago(6).date()))

    assert records(product)[days_ago(5).date()].units == 1
    assert "1 daily sales record" in capsys.readouterr().out


def test_the_task_refreshes_and_is_safe_to_run_again():
    product = ProductFactory(stock_tracked=False)
    sell(product, days_ago(3), quantity=2)

    first = refresh_sales_history.apply().get()
    again = refresh_sales_history.apply(kwargs={"since": str(days_ago(5).date())}).get()

    assert (first, again) == (1, 0)
    assert records(product)[days_ago(3).date()].units == 2


@pytest.mark.parametrize(
    ("since", "message"),
    [("yesterday", "is not a date"), ("2999-01-01", "is in the future")],
)
def test_the_command_refuses_a_bad_since(since, message):
    with pytest.raises(CommandError, match=message):
        call_command("refresh_sales_history", "--since", since)
