"""The checkout service: stock, ledger and events in one transaction, no overselling."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from catalog.models import StockMovement
from orders.models import Order
from orders.services import CartLine, InsufficientStock, order_place
from recommender.models import BehaviourEvent
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_order_place_takes_stock_and_writes_ledger_and_events(customer):
    mug = ProductFactory(stock=5)
    tea = ProductFactory(stock=2)

    order = order_place(
        customer=customer,
        lines=[CartLine(mug.id, 2), CartLine(tea.id, 1), CartLine(mug.id, 1)],
    )

    mug.refresh_from_db()
    tea.refresh_from_db()
    assert (mug.stock_on_hand, tea.stock_on_hand) == (2, 1)
    assert order.status == Order.Status.PAID
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [
        (mug.id, 3),
        (tea.id, 1),
    ]
    assert order.total == 4 * mug.price
    sales = StockMovement.objects.filter(
        kind=StockMovement.Kind.SALE, reference=order.number
    )
    assert sorted(sales.values_list("quantity", "balance_after")) == [(-3, 2), (-1, 1)]
    events = BehaviourEvent.objects.filter(
        order=order, kind=BehaviourEvent.Kind.PURCHASE
    )
    assert sorted(events.values_list("product_id", "quantity")) == [
        (mug.id, 3),
        (tea.id, 1),
    ]


def test_order_place_writes_nothing_when_one_line_lacks_stock(customer):
    plenty = ProductFactory(stock=10)
    scarce = ProductFactory(stock=1)

    with pytest.raises(InsufficientStock, match=scarce.sku):
        order_place(
            customer=customer, lines=[CartLine(plenty.id, 1), CartLine(scarce.id, 2)]
        )

    plenty.refresh_from_db()
    assert plenty.stock_on_hand == 10
    assert Order.objects.count() == 0
    assert BehaviourEvent.objects.count() == 0
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SALE).count() == 0


def test_untracked_product_is_never_out_of_stock(customer):
    service = ProductFactory(stock_tracked=False)

    order = order_place(customer=customer, lines=[CartLine(service.id, 3)])

    service.refresh_from_db()
    assert order.lines.get().quantity == 3
    assert service.stock_on_hand == 0
    assert not service.is_out_of_stock
    assert not service.stock_movements.exists()


@pytest.mark.parametrize(
    "lines, message",
    [([], "at least one line"), ([CartLine(0, 0)], "at least 1")],
)
def test_order_place_rejects_bad_carts(customer, lines, message):
    with pytest.raises(ValidationError, match=message):
        order_place(customer=customer, lines=lines)


def test_order_place_refuses_inactive_products(customer):
    retired = ProductFactory(stock=3, is_active=False)
    with pytest.raises(ValidationError, match="Not for sale"):
        order_place(customer=customer, lines=[CartLine(retired.id, 1)])


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_buyers_get_exactly_ten_units():
    assert connection.vendor == "postgresql"
    product = ProductFactory(stock=10)
    buyers = [CustomerFactory() for _ in range(50)]
    start = threading.Barrier(50)

    def buy(buyer):
        start.wait()
        try:
            order_place(customer=buyer, lines=[CartLine(product.id, 1)])
            return "ok"
        except InsufficientStock:
            return "sold out"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(buy, buyers))

    product.refresh_from_db()
    assert outcomes.count("ok") == 10
    assert outcomes.count("sold out") == 40
    assert product.stock_on_hand == 0
    assert Order.objects.count() == 10
    ledger = StockMovement.objects.filter(product=product)
    assert sum(ledger.values_list("quantity", flat=True)) == 0
    assert sorted(
        ledger.filter(kind="sale").values_list("balance_after", flat=True)
    ) == list(range(10))
