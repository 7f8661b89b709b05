"""The orders API: customers see and place only their own orders; staff see all."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.models import StockMovement
from orders.models import Order
from recommender.models import BehaviourEvent
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(order["number"] for order in response.json()["results"])


def place(client, lines):
    return client.post(ORDERS, {"lines": lines}, format="json")


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_refused(api_client, method):
    order = OrderFactory()

    assert getattr(api_client, method)(ORDERS).status_code in (401, 403)
    assert api_client.get(f"{ORDERS}{order.number}/").status_code in (401, 403)


def test_customer_lists_only_own_orders(customer, other_customer, customer_client):
    mine = OrderFactory(customer=customer)
    OrderFactory(customer=other_customer)

    assert numbers(customer_client.get(ORDERS)) == [mine.number]
    # The staff filter cannot widen a customer's view.
    assert numbers(customer_client.get(ORDERS, {"customer": other_customer.id})) == []


def test_another_customers_order_is_404(other_customer, customer_client):
    theirs = OrderFactory(customer=other_customer)

    response = customer_client.get(f"{ORDERS}{theirs.number}/")

    assert response.status_code == 404


def test_customer_reads_own_order_with_lines(customer, customer_client):
    order = OrderFactory(customer=customer, total="39.98")
    line = OrderLineFactory(order=order, quantity=2)

    body = customer_client.get(f"{ORDERS}{order.number}/").json()

    assert body["number"] == order.number
    assert body["total"] == "39.98"
    assert body["lines"] == [
        {
            "line_number": line.line_number,
            "sku": line.product.sku,
            "name": line.product.name,
            "quantity": 2,
            "unit_price": "19.99",
            "line_total": "39.98",
        }
    ]


def test_staff_see_all_and_filter_by_customer(customer, other_customer, staff_client):
    mine = OrderFactory(customer=customer)
    theirs = OrderFactory(customer=other_customer)

    assert numbers(staff_client.get(ORDERS)) == sorted([mine.number, theirs.number])
    assert numbers(staff_client.get(ORDERS, {"customer": customer.id})) == [mine.number]
    assert staff_client.get(f"{ORDERS}{theirs.number}/").status_code == 200


def test_order_list_queries_do_not_grow_with_rows(
    customer, customer_client, django_assert_num_queries
):
    def add_orders(count: int) -> None:
        for order in OrderFactory.create_batch(count, customer=customer):
            OrderLineFactory.create_batch(2, order=order)

    add_orders(2)
    # count, orders, prefetched lines joined with products
    with django_assert_num_queries(3):
        customer_client.get(ORDERS)
    add_orders(10)
    with django_assert_num_queries(3):
        assert len(numbers(customer_client.get(ORDERS))) == 12


@pytest.mark.postgres
def test_place_order_takes_stock_and_returns_lines_and_total(customer, customer_client):
    mug = ProductFactory(sku="MUG", price="7.50", stock=5)
    tea = ProductFactory(sku="TEA", price="3.00", stock=2)

    response = place(
        customer_client,
        [{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}],
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "18.00"
    assert body["customer"] == customer.id
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        ("MUG", 2),
        ("TEA", 1),
    ]
    mug.refresh_from_db()
    tea.refresh_from_db()
    assert (mug.stock_on_hand, tea.stock_on_hand) == (3, 1)
    assert Order.objects.get(number=body["number"]).customer == customer


@pytest.mark.postgres
def test_insufficient_stock_is_409_naming_the_sku_and_writes_nothing(
    customer_client,
):
    plenty = ProductFactory(sku="PLENTY", stock=10)
    ProductFactory(sku="SCARCE", stock=1)

    response = place(
        customer_client,
        [{"sku": "PLENTY", "quantity": 1}, {"sku": "SCARCE", "quantity": 2}],
    )

    assert response.status_code == 409
    body = response.json()
    assert (body["sku"], body["requested"], body["available"]) == ("SCARCE", 2, 1)
    assert "SCARCE" in body["detail"]
    plenty.refresh_from_db()
    assert plenty.stock_on_hand == 10
    assert not Order.objects.exists()
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.SALE).exists()
    assert not BehaviourEvent.objects.exists()


@pytest.mark.parametrize(
    "payload, field_path",
    [
        ({}, ["lines"]),
        ({"lines": []}, ["lines"]),
        ({"lines": [{"sku": "MUG", "quantity": 0}]}, ["lines", 0, "quantity"]),
        ({"lines": [{"sku": "MUG", "quantity": "two"}]}, ["lines", 0, "quantity"]),
        ({"lines": [{"quantity": 1}]}, ["lines", 0, "sku"]),
        (
            {"lines": [{"sku": "MUG", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
            ["lines", 1, "sku"],
        ),
        ({"lines": [{"sku": "OLD", "quantity": 1}]}, ["lines", 0, "sku"]),
    ],
)
def test_bad_payload_is_400_naming_the_field(customer_client, payload, field_path):
    ProductFactory(sku="MUG", stock=5)
    ProductFactory(sku="OLD", stock=5, is_active=False)

    response = customer_client.post(ORDERS, payload, format="json")

    assert response.status_code == 400
    errors = response.json()
    for key in field_path:
        errors = errors[key]
    assert errors and all(isinstance(message, str) for message in errors)
    assert not Order.objects.exists()


def test_order_placement_is_throttled_by_its_own_scope(customer, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "orders": "3/minute"},
    }
    ProductFactory(sku="MUG", stock_tracked=False)
    client = APIClient()
    client.force_authenticate(customer)

    statuses = [
        place(client, [{"sku": "MUG", "quantity": 1}]).status_code for _ in range(4)
    ]

    assert statuses == [201, 201, 201, 429]
    assert client.get(ORDERS).status_code == 200  # reads are not limited by it
