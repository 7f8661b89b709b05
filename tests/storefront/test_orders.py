"""The customer's order history and order pages: their own orders only."""

import pytest

from tests.factories import OrderFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(customer, other_customer):
    mug = ProductFactory(name="Blue mug")
    mine = OrderLineFactory(order__customer=customer, product=mug, quantity=2).order
    theirs = OrderLineFactory(order__customer=other_customer, product=mug).order
    return mine, theirs


def test_history_lists_only_the_customers_own_orders(client, customer, orders):
    mine, theirs = orders
    client.force_login(customer)

    html = client.get("/orders/").content.decode()

    assert f'href="/orders/{mine.number}/"' in html
    assert "Blue mug × 2" in html
    assert theirs.number not in html


def test_an_order_page_shows_only_the_customers_own(client, customer, orders):
    mine, theirs = orders
    client.force_login(customer)

    page = client.get(f"/orders/{mine.number}/")

    assert page.status_code == 200
    assert f"<h1>Order {mine.number}</h1>" in page.content.decode()
    assert client.get(f"/orders/{theirs.number}/").status_code == 404
    assert client.get(f"/checkout/done/{theirs.number}/").status_code == 404
    assert client.get("/orders/NOPE/").status_code == 404


def test_staff_see_only_their_own_orders_here_too(client, staff, orders):
    client.force_login(staff)

    assert client.get(f"/orders/{orders[0].number}/").status_code == 404
    assert "No orders yet." in client.get("/orders/").content.decode()


@pytest.mark.parametrize("url", ["/orders/", "/orders/X/", "/checkout/done/X/"])
def test_order_pages_need_a_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_history_is_paged_newest_first(client, customer):
    numbers = [OrderFactory(customer=customer).number for _ in range(23)]
    client.force_login(customer)

    first = client.get("/orders/").context["page"]
    second = client.get("/orders/?page=2").context["page"]

    assert [o.number for o in first] == numbers[::-1][:20]
    assert len(second.object_list) == 3
