"""Logs carry no personal data: a customer's whole journey, failures included."""

import io
import logging

import pytest
from django.core.management import call_command

from tests.factories import CustomerFactory, ProductFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_a_customers_journey_and_erasure_log_nothing_personal(
    client, api_client, caplog
):
    customer = CustomerFactory(
        username="jane.doe.1984",
        email="jane.doe@example.org",
        first_name="Janette",
        last_name="Doughnutson",
    )
    staff = StaffFactory()
    ProductFactory(sku="MUG", price="7.50", stock=1)
    caplog.set_level(logging.DEBUG)

    client.post(
        "/accounts/login/",
        {"username": customer.username, "password": "wrong password"},
    )
    client.post(
        "/accounts/login/",
        {"username": customer.username, "password": "correct-horse-battery"},
    )
    client.get("/products/MUG/")
    client.get("/products/NO-SUCH-SKU/")
    api_client.force_authenticate(customer)
    api_client.get("/api/v1/me/")
    api_client.patch("/api/v1/me/", {"email": "not an email"}, format="json")
    for quantity in (1, 5):  # the second is refused: not enough stock
        api_client.post(
            "/api/v1/orders/",
            {"lines": [{"sku": "MUG", "quantity": quantity}]},
            format="json",
        )
    api_client.get("/api/v1/orders/NOT-THEIRS/")
    api_client.force_authenticate(staff)
    api_client.get(f"/api/v1/customers/{customer.pk}/recommendations/")
    call_command("erase_customer", str(customer.pk), stdout=io.StringIO())

    logged = caplog.text.lower()
    assert caplog.records, "the journey should have logged something (404s, 409)"
    for personal in ("jane.doe", "janette", "doughnutson", "example.org"):
        assert personal not in logged
