"""The people admin: customers with order counts, profile inline, search by id."""

import pytest
from django.urls import reverse

from accounts.models import CustomerProfile, User
from tests.admin_support import assert_queries_do_not_grow, form_data
from tests.factories import CustomerFactory, OrderFactory, StaffFactory

pytestmark = pytest.mark.django_db


def add_customers(n: int) -> None:
    for i in range(n):
        customer = CustomerFactory()
        for _ in range(i % 3):
            OrderFactory(customer=customer)


ADD_ROWS = {"user": add_customers, "customerprofile": add_customers}


@pytest.mark.postgres
@pytest.mark.parametrize("model_name", ADD_ROWS)
def test_changelist_queries_do_not_grow_with_rows(admin_client, model_name):
    url = reverse(f"admin:accounts_{model_name}_changelist")
    response = assert_queries_do_not_grow(admin_client, url, ADD_ROWS[model_name])
    assert len(response.context["cl"].result_list) >= 30


@pytest.mark.parametrize("model_name", ADD_ROWS)
def test_add_change_and_search_pages_render(admin_client, model_name):
    customer = CustomerFactory()
    pk = customer.pk  # the profile's primary key is its user's
    for url, params in [
        (reverse(f"admin:accounts_{model_name}_add"), {}),
        (reverse(f"admin:accounts_{model_name}_change", args=[pk]), {}),
        (reverse(f"admin:accounts_{model_name}_changelist"), {"q": "customer"}),
    ]:
        assert admin_client.get(url, params).status_code == 200, url


def test_user_list_counts_orders(admin_client):
    buyer = CustomerFactory()
    OrderFactory(customer=buyer)
    OrderFactory(customer=buyer)
    idle = CustomerFactory()

    response = admin_client.get(reverse("admin:accounts_user_changelist"))

    counts = {u.pk: u.order_count for u in response.context["cl"].result_list}
    assert (counts[buyer.pk], counts[idle.pk]) == (2, 0)
    orders = reverse("admin:orders_order_changelist")
    assert f"{orders}?customer={buyer.pk}" in response.content.decode()


def test_users_are_found_by_external_id_and_filtered_by_staff(admin_client):
    imported = CustomerFactory(external_id="EXT-42")
    StaffFactory()
    url = reverse("admin:accounts_user_changelist")

    found = admin_client.get(url, {"q": "EXT-42"}).context["cl"].result_list
    staff = admin_client.get(url, {"is_staff__exact": "1"}).context["cl"].result_list

    assert [u.pk for u in found] == [imported.pk]
    assert all(u.is_staff for u in staff) and len(staff) == 2  # with admin_client's


def test_profile_is_edited_inline_with_external_id(admin_client):
    customer = CustomerFactory()
    url = reverse("admin:accounts_user_change", args=[customer.pk])
    data = form_data(admin_client.get(url), "user_form")
    data.update({"external_id": "CRM-7", "profile-0-city": "Leeds"})

    response = admin_client.post(url, data)

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.external_id == "CRM-7"
    assert CustomerProfile.objects.get(user=customer).city == "Leeds"


def test_customer_with_behaviour_events_can_be_deleted(admin_client):
    from tests.factories import BehaviourEventFactory

    event = BehaviourEventFactory()
    url = reverse("admin:accounts_user_delete", args=[event.customer.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    assert not User.objects.filter(pk=event.customer.pk).exists()
