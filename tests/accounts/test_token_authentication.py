"""API tokens: the fixed-statement reader answers as DRF's own does."""

import pytest
from django.utils import timezone
from rest_framework import authentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from ecomsite.authentication import TokenAuthentication

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/recommendations/"


def test_a_token_authenticates_its_user_as_drf_does(customer):
    token = Token.objects.create(user=customer)

    user, read = TokenAuthentication().authenticate_credentials(token.key)
    drf_user, drf_token = authentication.TokenAuthentication().authenticate_credentials(
        token.key
    )

    assert (user, read) == (drf_user, drf_token)
    assert read.created == drf_token.created and timezone.is_aware(read.created)
    for field in type(user)._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(drf_user, field.attname)
    assert user.get_deferred_fields() == set()


def test_requests_with_a_token_see_their_own_data(customer):
    token = Token.objects.create(user=customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.get(ME).status_code == 200


@pytest.mark.parametrize("active", [True, False])
def test_unknown_tokens_and_inactive_users_are_refused(customer, active):
    token = Token.objects.create(user=customer)
    customer.is_active = active
    customer.save()
    key = token.key if not active else "0" * 40

    with pytest.raises(AuthenticationFailed, match="Invalid token|inactive"):
        TokenAuthentication().authenticate_credentials(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(ME).status_code == 401
