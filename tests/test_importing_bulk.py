"""The bulk writes of imports: `copy_insert` and `values_in`, at batch sizes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.models import CustomerProfile, User
from ecomsite.importing import copy_insert, values_in
from orders.models import Order

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_values_in_finds_thousands_of_texts_and_ids():
    users = User.objects.bulk_create(
        User(username=f"bulk{i}", external_id=f"E{i}", password="!") for i in range(300)
    )
    wanted = [f"E{i}" for i in range(0, 300, 2)] + ["absent"]
    found = User.objects.filter(**values_in("external_id", wanted))
    assert sorted(found.values_list("external_id", flat=True)) == sorted(wanted[:-1])
    ids = [u.pk for u in users[:150]]
    assert User.objects.filter(**values_in("pk", ids)).count() == 150


def test_copy_insert_returns_new_ids_by_key_and_skips_conflicts():
    taken = User.objects.create(username="customer-dup", external_id="X-0")
    rows = [(f"customer-{i}", f"X-{i}", "!") for i in range(1, 151)]
    created = copy_insert(
        User,
        ("username", "external_id", "password"),
        [*rows, ("customer-dup", "X-other", "!")],
        key="external_id",
    )
    assert len(created) == 150 and "X-other" not in created
    assert created == dict(
        User.objects.exclude(pk=taken.pk).values_list("external_id", "pk")
    )
    user = User.objects.get(external_id="X-7")
    assert user.is_active and not user.is_staff and user.date_joined is not None
    assert (user.email, user.last_login) == ("", None)

    profiles = copy_insert(
        CustomerProfile,
        ("user", "country"),
        [(pk, "NL") for pk in created.values()],
        key="user",
    )
    assert set(profiles) == set(created.values())
    profile = CustomerProfile.objects.get(user=user)
    assert (profile.country, profile.attributes) == ("NL", {})

    when = datetime(2024, 5, 1, 12, tzinfo=UTC)
    orders = copy_insert(
        Order,
        ("number", "customer", "placed_at", "total"),
        [("N1", user.pk, when, Decimal("9.5")), ("N2", None, when, Decimal(0))],
        key="number",
    )
    order = Order.objects.get(pk=orders["N1"])
    assert (order.customer, order.total, order.placed_at) == (
        user,
        Decimal("9.50"),
        when,
    )
    assert order.created_at is not None and order.status == Order.Status.PENDING
    assert Order.objects.get(number="N2").customer is None
