"""The orders admin: fast lists of orders and lines, lines edited inline."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderLine
from tests.admin_support import assert_queries_do_not_grow, count_queries, form_data
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


def add_orders(n: int) -> None:
    """Add orders of customers and guests, each with two lines."""
    for i in range(n):
        order = OrderFactory(customer=None) if i % 4 == 0 else OrderFactory()
        OrderLineFactory(order=order, line_number=1)
        OrderLineFactory(order=order, line_number=2)


def add_lines(n: int) -> None:
    for _ in range(n):
        OrderLineFactory(line_number=1)


ADD_ROWS = {"order": add_orders, "orderline": add_lines}


@pytest.mark.postgres
@pytest.mark.parametrize("model_name", ADD_ROWS)
def test_changelist_queries_do_not_grow_with_rows(admin_client, model_name):
    url = reverse(f"admin:orders_{model_name}_changelist")
    response = assert_queries_do_not_grow(admin_client, url, ADD_ROWS[model_name])
    assert len(response.context["cl"].result_list) == 30


@pytest.mark.parametrize("model_name", ADD_ROWS)
def test_add_change_and_search_pages_render(admin_client, model_name):
    ADD_ROWS[model_name](1)
    model = {"order": Order, "orderline": OrderLine}[model_name]
    obj = model.objects.first()
    for url, params in [
        (reverse(f"admin:orders_{model_name}_add"), {}),
        (reverse(f"admin:orders_{model_name}_change", args=[obj.pk]), {}),
        (reverse(f"admin:orders_{model_name}_changelist"), {"q": "ORD"}),
    ]:
        assert admin_client.get(url, params).status_code == 200, url


def test_order_list_counts_lines_and_links_customers(admin_client):
    order = OrderFactory()
    for number in (1, 2, 3):
        OrderLineFactory(order=order, line_number=number)
    OrderFactory(customer=None)

    response = admin_client.get(reverse("admin:orders_order_changelist"))

    counts = {o.number: o.line_count for o in response.context["cl"].result_list}
    assert sorted(counts.values()) == [0, 3]
    assert counts[order.number] == 3
    html = response.content.decode()
    assert reverse("admin:accounts_user_change", args=[order.customer.pk]) in html
    assert "Guest" in html


def test_orders_are_found_by_customer_email_and_external_id(admin_client):
    order = OrderFactory()
    order.customer.external_id = "C-991"
    order.customer.save()
    OrderFactory()
    url = reverse("admin:orders_order_changelist")

    by_email = admin_client.get(url, {"q": order.customer.email}).context["cl"]
    by_id = admin_client.get(url, {"q": "C-991"}).context["cl"]

    assert [o.pk for o in by_email.result_list] == [order.pk]
    assert [o.pk for o in by_id.result_list] == [order.pk]


@pytest.mark.postgres
def test_order_change_page_queries_do_not_grow_with_lines(admin_client):
    order = OrderFactory()
    url = reverse("admin:orders_order_change", args=[order.pk])
    for number in (1, 2):
        OrderLineFactory(order=order, line_number=number)
    admin_client.get(url)
    with_few, _ = count_queries(admin_client, url)
    for number in range(3, 21):
        OrderLineFactory(order=order, line_number=number)

    with_many, response = count_queries(admin_client, url)

    assert with_many == with_few
    skus = {line.product.sku for line in order.lines.select_related("product")}
    html = response.content.decode()
    assert all(sku in html for sku in skus)  # each line's product is labelled


def test_editing_a_line_updates_the_order_total(admin_client):
    order = OrderFactory(total=Decimal("19.99"))
    OrderLineFactory(order=order, line_number=1, unit_price=Decimal("19.99"))
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = form_data(admin_client.get(url), "order_form")
    data["lines-0-quantity"] = "3"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.total == Decimal("59.97")


def test_adding_a_line_with_a_product(admin_client):
    order = OrderFactory()
    product = ProductFactory(price=Decimal("4.00"))
    url = reverse("admin:orders_order_change", args=[order.pk])
    data = form_data(admin_client.get(url), "order_form")
    data.update(
        {
            "lines-TOTAL_FORMS": "1",
            "lines-0-line_number": "1",
            "lines-0-product": str(product.pk),
            "lines-0-quantity": "2",
            "lines-0-unit_price": "4.00",
            "lines-0-order": str(order.pk),
        }
    )

    assert admin_client.post(url, data).status_code == 302

    assert order.lines.get().product == product
    order.refresh_from_db()
    assert order.total == Decimal("8.00")


def test_date_hierarchy_offers_every_year_from_first_to_last_order(admin_client):
    OrderFactory(placed_at=datetime(2023, 5, 1, 12, tzinfo=UTC))
    OrderFactory(placed_at=datetime(2025, 2, 1, 12, tzinfo=UTC))
    OrderFactory(placed_at=datetime(2025, 3, 9, 12, tzinfo=UTC))
    url = reverse("admin:orders_order_changelist")

    years = admin_client.get(url).content.decode()
    months = admin_client.get(url, {"placed_at__year": "2025"}).context["cl"]
    html = admin_client.get(url, {"placed_at__year": "2025"}).content.decode()

    assert all(f"?placed_at__year={y}" in years for y in (2023, 2024, 2025))
    assert "?placed_at__year=2022" not in years
    assert months.result_count == 2
    assert "placed_at__month=2" in html and "placed_at__month=3" in html
    assert "placed_at__month=4" not in html


def test_orders_are_found_by_whole_or_part_of_their_number(admin_client):
    wanted = OrderFactory(number="W20260101-ABC123")
    OrderFactory(number="W20260101-XYZ789")
    url = reverse("admin:orders_order_changelist")

    for term in ("W20260101-ABC123", "abc12"):
        found = admin_client.get(url, {"q": term}).context["cl"].result_list
        assert [o.pk for o in found] == [wanted.pk], term


def test_orders_filter_by_status_and_date_and_export_as_csv(admin_client):
    url = reverse("admin:orders_order_changelist")
    now = timezone.now()
    old = OrderFactory(number="OLD-1", status="paid", placed_at=now - timedelta(60))
    new = OrderFactory(number="NEW-1", status="paid", placed_at=now)
    OrderFactory(number="NEW-2", status="cancelled", placed_at=now)

    since = (now - timedelta(days=7)).isoformat()
    listed = admin_client.get(url, {"status__exact": "paid", "placed_at__gte": since})
    assert [o.number for o in listed.context["cl"].result_list] == ["NEW-1"]
    page = admin_client.get(url).content.decode()
    assert "Past 7 days" in page and "By status" in page

    response = admin_client.post(
        url, {"action": "export_selected", "_selected_action": [old.pk, new.pk]}
    )
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["number", "placed_at", "customer_id"]
    assert [r[0] for r in rows[1:]] == ["OLD-1", "NEW-1"]  # oldest first
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
