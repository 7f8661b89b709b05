"""The customer page for operators: the customer first, their value, segment, lists
and behaviour; export and erase; only customers (staff stay under users)."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer, CustomerProfile, User
from orders.models import Order
from recommender.models import ErasedCustomer
from tests.admin_support import assert_queries_do_not_grow
from tests.factories import (
    BehaviourEventFactory,
    CustomerFactory,
    OrderFactory,
    ProductFactory,
    StaffFactory,
)
from tests.recommender.segment_support import segment_row, served_segments_batch
from tests.recommender.serving_support import serve_for

pytestmark = pytest.mark.django_db

LIST = reverse("admin:accounts_customer_changelist")


def change_url(customer) -> str:
    return reverse("admin:accounts_customer_change", args=[customer.pk])


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def valued_customer() -> User:
    """A segmented customer with a profile, orders, lists and behaviour."""
    customer = segment_row(served_segments_batch(), segment="champions").customer
    CustomerProfile.objects.update_or_create(
        user=customer,
        defaults={
            "phone": "+44 20 7946 0000",
            "city": "Leeds",
            "marketing_opt_in": True,
        },
    )
    OrderFactory(customer=customer, total=Decimal("30.00"), status="completed")
    OrderFactory(customer=customer, total=Decimal("12.50"), status="paid")
    OrderFactory(customer=customer, total=Decimal("99.00"), status="cancelled")
    product = ProductFactory(sku="TEA-1", stock_tracked=False)
    serve_for(customer, [product])
    BehaviourEventFactory(customer=customer, product=product, kind="add_to_cart")
    return customer


def test_customers_list_leaves_staff_out_and_shows_value(admin_client):
    customer = valued_customer()
    staff = StaffFactory(username="operator-anna")

    page = admin_client.get(LIST).content.decode()

    assert customer.email in page and staff.username not in page
    assert "42.50" in page  # cancelled orders do not count
    assert "Champions" in page


def test_customer_page_leads_with_the_customer_not_the_staff_machinery(admin_client):
    customer = valued_customer()

    page = admin_client.get(change_url(customer)).content.decode()

    for absent in ['name="password"', "user_permissions", 'name="groups"']:
        assert absent not in page
    order = [
        page.index(text)
        for text in [
            "+44 20 7946 0000",
            "Opted in to marketing.",
            "42.50",
            "Recent orders",
            "Segment and churn risk",
            "Champions",
            "TEA-1",
            "because 1",
            "Add to cart",
        ]
    ]
    assert order == sorted(order)  # contact first, behaviour last
    assert reverse("admin:accounts_customer_export", args=[customer.pk]) in page
    assert reverse("admin:accounts_customer_erase", args=[customer.pk]) in page


def test_staff_are_not_customers(admin_client):
    staff = StaffFactory()
    assert admin_client.get(change_url(staff)).status_code == 302  # not found: list
    assert not Customer.objects.filter(pk=staff.pk).exists()


def test_export_of_one_customer_and_of_a_selection(admin_client):
    customer = valued_customer()
    CustomerFactory(username="quiet")

    one = csv_rows(
        admin_client.get(reverse("admin:accounts_customer_export", args=[customer.pk]))
    )
    assert one[0][:5] == ["id", "username", "first_name", "last_name", "email"]
    (row,) = one[1:]
    values = dict(zip(one[0], row, strict=True))
    assert values["lifetime_value"] == "42.50" and values["orders"] == "3"
    assert values["marketing_opt_in"] == "yes" and values["segment"] == "Champions"

    selected = admin_client.post(
        LIST,
        {
            "action": "export_selected",
            "_selected_action": [c.pk for c in Customer.objects.all()],
        },
    )
    assert [r[1] for r in csv_rows(selected)[1:]] == sorted(
        [customer.username, "quiet"], key=lambda u: User.objects.get(username=u).pk
    )


def test_erase_asks_first_then_erases_and_keeps_orders(admin_client):
    customer = valued_customer()
    url = reverse("admin:accounts_customer_erase", args=[customer.pk])

    asked = admin_client.get(url)
    assert "cannot be undone" in asked.content.decode()
    assert User.objects.filter(pk=customer.pk).exists()

    admin_client.post(url, {"confirmed": "yes"})
    assert not User.objects.filter(pk=customer.pk).exists()
    assert ErasedCustomer.objects.count() == 1
    assert Order.objects.filter(customer__isnull=True).count() == 3


def test_erase_action_on_the_list_asks_then_erases(admin_client):
    customers = [CustomerFactory() for _ in range(2)]
    data = {"action": "erase_selected", "_selected_action": [c.pk for c in customers]}

    assert "Yes, erase 2 customers" in admin_client.post(LIST, data).content.decode()
    assert User.objects.filter(pk__in=[c.pk for c in customers]).count() == 2
    admin_client.post(LIST, {**data, "confirmed": "yes"})
    assert not User.objects.filter(pk__in=[c.pk for c in customers]).exists()


def test_plain_delete_of_a_customer_erases_them(admin_client):
    """Django's own delete page and bulk delete go through the erasure service."""
    one, two, three = (valued_customer(), CustomerFactory(), CustomerFactory())

    page = reverse("admin:accounts_customer_delete", args=[one.pk])
    admin_client.post(page, {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [two.pk, three.pk]}
    admin_client.post(LIST, {**bulk, "post": "yes"})

    assert not User.objects.filter(pk__in=[one.pk, two.pk, three.pk]).exists()
    assert ErasedCustomer.objects.count() == 3
    assert Order.objects.filter(customer__isnull=True).count() == 3


@pytest.mark.postgres
def test_customer_list_queries_do_not_grow_with_rows(admin_client):
    def add(n):
        for i in range(n):
            customer = CustomerFactory()
            for _ in range(i % 3):
                OrderFactory(customer=customer)

    response = assert_queries_do_not_grow(admin_client, LIST, add)
    assert len(response.context["cl"].result_list) >= 30
