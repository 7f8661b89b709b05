"""Right to erasure, end to end: the command, the staff API, imports and training."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import CustomerProfile
from mlops.models import ModelVersion, Run, ServedBatch
from orders.models import Order, OrderLine
from recommender.models import (
    BehaviourEvent,
    CustomerSegment,
    ErasedCustomer,
    Recommendation,
)
from recommender.privacy import pseudonymise
from recommender.training_data import training_frame
from tests.factories import BehaviourEventFactory, ProductFactory
from tests.import_support import run_import, write_rows
from tests.recommender.serving_support import serve_for

pytestmark = pytest.mark.django_db

HEADER = ["order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_at"]
HISTORY = [
    ["A-1", "EXT-7", "MUG", "2", "4.50", "2025-01-05T10:00:00+00:00"],
    ["A-1", "EXT-7", "TEA", "1", "3.00", "2025-01-05T10:00:00+00:00"],
    ["A-2", "EXT-7", "TEA", "3", "3.00", "2025-02-01T09:00:00+00:00"],
    ["B-1", "EXT-8", "MUG", "1", "4.50", "2025-01-07T12:00:00+00:00"],
]


def segments_batch() -> ServedBatch:
    version = ModelVersion.objects.create(
        kind="segments",
        version=1,
        algorithm="rfm",
        status="champion",
        trained_at=timezone.now(),
    )
    run = Run.objects.create(kind="segments", type=Run.Type.INFER)
    return ServedBatch.objects.create(
        kind="segments", model_version=version, run=run, state="active"
    )


@pytest.fixture
def history(tmp_path):
    """Imported customer EXT-7 with orders, events, lists, a segment, token, session."""
    path = write_rows(tmp_path / "orders.csv", HEADER, HISTORY)
    run_import("import_orders", path)
    user = get_user_model().objects.get(external_id="EXT-7")
    CustomerProfile.objects.filter(user=user).update(country="France", city="Lyon")
    Order.objects.filter(customer=user).update(country="France")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session.create()
    BehaviourEventFactory(customer=user, session_key=session.session_key)
    BehaviourEventFactory(customer=None, session_key=session.session_key)
    BehaviourEventFactory(
        kind="purchase", customer=None, order=Order.objects.get(number="A-2")
    )
    stranger = BehaviourEventFactory(customer=None, session_key="someone-else")
    serve_for(user, [ProductFactory(), ProductFactory()])
    CustomerSegment.objects.create(
        batch=segments_batch(), customer=user, rfm_segment="loyal"
    )
    AuthToken.objects.create(user=user)
    return path, user, session.session_key, stranger


def totals() -> dict[str, Decimal]:
    return dict(Order.objects.values_list("number", "total"))


def assert_erased(user, session_key, stranger, before_totals, lines_before):
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not BehaviourEvent.objects.exclude(pk=stranger.pk).exists()
    assert not Session.objects.filter(session_key=session_key).exists()
    assert not Recommendation.objects.filter(customer_id=user.pk).exists()
    assert not CustomerSegment.objects.filter(customer_id=user.pk).exists()
    assert not AuthToken.objects.filter(user_id=user.pk).exists()
    assert not CustomerProfile.objects.filter(user_id=user.pk).exists()
    kept = Order.objects.filter(number__in=["A-1", "A-2"])
    assert [(o.customer_id, o.country) for o in kept] == [(None, "")] * 2
    assert totals() == before_totals
    assert OrderLine.objects.count() == lines_before
    tombstone = ErasedCustomer.objects.get()
    assert tombstone.pseudonym == pseudonymise(user.pk)
    assert tombstone.external_id_hash == pseudonymise("EXT-7")
    frame = training_frame()
    assert pseudonymise(user.pk) not in set(frame.customer_keys)
    assert frame.interactions.user.size == 1  # EXT-8's one line is all that is left
    return tombstone


def test_erase_customer_command(history, capsys):
    path, user, session_key, stranger = history
    before, lines = totals(), OrderLine.objects.count()

    call_command("erase_customer", "EXT-7", "--external")

    tombstone = assert_erased(user, session_key, stranger, before, lines)
    assert tombstone.erased_by is None
    out = capsys.readouterr().out
    assert "behaviour events: 3" in out
    assert "orders anonymised: 2" in out
    assert "recommendations: 2" in out


def test_erase_customer_api(history, staff_client, staff):
    path, user, session_key, stranger = history
    before, lines = totals(), OrderLine.objects.count()

    response = staff_client.post(f"/api/v1/customers/{user.pk}/erase/")

    assert response.status_code == 204
    assert assert_erased(user, session_key, stranger, before, lines).erased_by == staff


def test_a_reimport_keeps_erased_customers_anonymous(history, tmp_path):
    path, user, _, _ = history
    call_command("erase_customer", str(user.pk))
    later = write_rows(
        tmp_path / "later.csv",
        HEADER,
        [
            *HISTORY,
            ["A-3", "EXT-7", "MUG", "1", "4.50", "2025-03-01T09:00:00+00:00"],
            ["B-2", "EXT-8", "TEA", "1", "3.00", "2025-03-02T09:00:00+00:00"],
        ],
    )

    out = run_import("import_orders", later)

    assert "erased customers anonymised: 1" in out
    assert not get_user_model().objects.filter(external_id="EXT-7").exists()
    new = Order.objects.get(number="A-3")
    assert new.customer_id is None and new.total == Decimal("4.50")
    assert Order.objects.filter(customer__isnull=True).count() == 3
    assert Order.objects.get(number="B-2").customer.external_id == "EXT-8"
    assert pseudonymise(user.pk) not in set(training_frame().customer_keys)


def test_erasure_refuses_unknown_ids_and_staff(history, staff):
    with pytest.raises(CommandError, match="No customer with id 999999"):
        call_command("erase_customer", "999999")
    with pytest.raises(CommandError, match="No customer with imported id"):
        call_command("erase_customer", "EXT-404", "--external")
    with pytest.raises(CommandError, match="--external"):
        call_command("erase_customer", "EXT-7")
    with pytest.raises(CommandError, match="Staff accounts"):
        call_command("erase_customer", str(staff.pk))
    assert not ErasedCustomer.objects.exists()


def test_only_staff_may_erase_through_the_api(
    history, api_client, customer_client, staff_client
):
    _, user, _, _ = history
    url = f"/api/v1/customers/{user.pk}/erase/"

    assert api_client.post(url).status_code in (401, 403)
    assert customer_client.post(url).status_code == 403
    assert staff_client.post("/api/v1/customers/999999/erase/").status_code == 404
    assert get_user_model().objects.filter(pk=user.pk).exists()
