"""API tokens (django-rest-knox): digests at rest, expiry, old DRF keys migrated."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from accounts.services import token_obtain
from ecomsite.authentication import TokenAuthentication
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_requests_with_a_token_see_their_own_data(customer, other_customer):
    _, key = token_obtain(user=customer)
    token_obtain(user=other_customer)

    body = client_with(key).get(ME).json()

    assert body["id"] == customer.pk
    assert body["username"] == customer.username
    mine = client_with(key).get("/api/v1/orders/").json()
    assert mine["count"] == 0  # another customer's orders are not listed


def test_only_a_digest_of_the_key_is_stored(customer):
    token, key = token_obtain(user=customer)

    stored = AuthToken.objects.get(pk=token.pk)
    assert key not in stored.digest and len(stored.digest) == 128
    assert stored.token_key == key[:15]


@pytest.mark.parametrize("active", [True, False])
def test_unknown_tokens_and_inactive_users_are_refused(customer, active):
    _, key = token_obtain(user=customer)
    customer.is_active = active
    customer.save()
    presented = key if not active else "0" * 64

    with pytest.raises(AuthenticationFailed, match="Invalid token|inactive"):
        TokenAuthentication().authenticate_credentials(presented.encode())
    assert client_with(presented).get(ME).status_code == 401


def test_an_expired_token_is_refused_and_deleted(customer):
    token, key = token_obtain(user=customer)
    AuthToken.objects.filter(pk=token.pk).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )

    assert client_with(key).get(ME).status_code == 401
    assert not AuthToken.objects.filter(pk=token.pk).exists()


def test_obtaining_more_tokens_than_allowed_retires_the_oldest(customer, settings):
    settings.API_TOKENS_PER_USER = 2
    keys = [token_obtain(user=customer)[1] for _ in range(3)]

    statuses = [client_with(key).get(ME).status_code for key in keys]

    assert statuses == [401, 200, 200]


def test_old_drf_tokens_are_migrated_to_digests_and_keep_working():
    customer = CustomerFactory()
    old = Token.objects.create(user=customer)
    migration = importlib.import_module(
        "accounts.migrations.0003_api_tokens_hashed_with_expiry"
    )

    migration.hash_existing_tokens(django_apps, None)

    assert not Token.objects.exists()
    migrated = AuthToken.objects.get(user=customer)
    assert migrated.expiry > timezone.now()
    assert client_with(old.key).get(ME).json()["username"] == customer.username
