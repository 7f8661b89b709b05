"""Erasure from the admin: an action with a confirmation page, and the plain delete,
both through the erasure service; audit entries and rejects files covered too."""

import csv

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.admin import erase_confirmation, erase_customers
from accounts.models import CustomerProfile, User
from orders.models import OrderLine
from recommender.models import ErasedCustomer
from tests.accounts.test_erasure import HEADER, assert_erased, history, totals
from tests.factories import CustomerFactory, StaffFactory
from tests.import_support import run_import, write_rows

__all__ = ["history"]  # the fixture, shared with the erasure tests

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


def erase_action(client, users, confirm: bool):
    data = {"action": "erase_customers", "_selected_action": [u.pk for u in users]}
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data)


def test_the_action_asks_for_confirmation_first(admin_client, history):
    _, user, _, _ = history

    page = erase_action(admin_client, [user], confirm=False)

    assert page.status_code == 200
    assert user.username in page.content.decode()
    assert "cannot be undone" in page.content.decode()
    assert User.objects.filter(pk=user.pk).exists()
    assert not ErasedCustomer.objects.exists()


def test_confirming_erases_through_the_service(admin_client, admin_user, history):
    _, user, session_key, stranger = history
    before, lines = totals(), OrderLine.objects.count()
    profile_type = ContentType.objects.get_for_model(CustomerProfile)
    LogEntry.objects.create(
        user=admin_user,
        content_type=profile_type,
        object_id=str(user.pk),
        object_repr=f"Profile of {user.username}",
        action_flag=CHANGE,
        change_message="Changed city to Lyon",
    )
    AccessAttempt.objects.create(
        username=user.username, ip_address="203.0.113.1", failures_since_start=1
    )

    response = erase_action(admin_client, [user], confirm=True)

    assert response.status_code == 302
    tombstone = assert_erased(user, session_key, stranger, before, lines)
    assert tombstone.erased_by == admin_user
    entry = LogEntry.objects.get(content_type=profile_type, object_id=str(user.pk))
    assert (entry.object_repr, entry.change_message) == ("Erased customer", "")
    assert not AccessAttempt.objects.filter(username=user.username).exists()


def test_the_plain_delete_erases_too(admin_client, history):
    _, user, session_key, stranger = history
    before, lines = totals(), OrderLine.objects.count()
    url = reverse("admin:accounts_user_delete", args=[user.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 302

    assert_erased(user, session_key, stranger, before, lines)
    deletion = LogEntry.objects.get(object_id=str(user.pk), action_flag=3)
    assert user.username not in deletion.object_repr


def test_the_bulk_delete_erases_customers_and_deletes_staff(admin_client):
    customer, staff = CustomerFactory(), StaffFactory(is_superuser=False)

    response = admin_client.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            "_selected_action": [customer.pk, staff.pk],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[customer.pk, staff.pk]).exists()
    assert ErasedCustomer.objects.count() == 1


def test_staff_accounts_are_not_erased_by_the_action(admin_client):
    staff = StaffFactory(is_superuser=False)

    page = erase_action(admin_client, [staff], confirm=False)
    erase_action(admin_client, [staff], confirm=True)

    assert "will not be erased" in page.content.decode()
    assert User.objects.filter(pk=staff.pk).exists()
    assert not ErasedCustomer.objects.exists()


def test_the_action_and_its_page_are_reusable_by_another_admin():
    assert erase_customers.allowed_permissions == ["delete"]
    assert callable(erase_confirmation)


def test_rejected_rows_of_an_erased_customer_keep_no_identifier(
    admin_client, history, tmp_path
):
    _, user, _, _ = history
    erase_action(admin_client, [user], confirm=True)
    path = write_rows(
        tmp_path / "later.csv",
        HEADER,
        [
            ["A-9", "EXT-7", "MUG", "lots", "4.50", "2025-03-01T09:00:00+00:00"],
            ["B-9", "EXT-8", "MUG", "lots", "4.50", "2025-03-01T09:00:00+00:00"],
        ],
    )

    run_import("import_orders", path)

    with open(tmp_path / "later.csv.rejects.csv", newline="", encoding="utf-8") as f:
        rejected = {row["order_id"]: row for row in csv.DictReader(f)}
    assert rejected["A-9"]["customer_id"] == ""
    assert rejected["B-9"]["customer_id"] == "EXT-8"  # not erased: kept to fix
