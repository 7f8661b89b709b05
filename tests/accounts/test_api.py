"""The account API: my details, and API tokens."""

import pytest
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import CustomerProfile
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
TOKEN = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests.factories.CustomerFactory's


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()


def test_me_requires_sign_in(api_client):
    assert api_client.get(ME).status_code in (401, 403)
    assert api_client.patch(ME, {"city": "x"}, format="json").status_code in (401, 403)


def test_me_shows_my_details_and_profile(customer, customer_client):
    customer.external_id = "C-42"
    customer.save()

    body = customer_client.get(ME).json()

    assert body["username"] == customer.username
    assert body["email"] == customer.email
    assert body["external_id"] == "C-42"
    assert body["is_staff"] is False
    assert body["profile"] == {
        "country": "United Kingdom",
        "city": "",
        "postcode": "",
        "phone": "",
        "marketing_opt_in": False,
    }


def test_me_without_a_profile_reads_empty_and_creates_nothing(staff, staff_client):
    CustomerProfile.objects.filter(user=staff).delete()

    body = staff_client.get(ME).json()

    assert body["profile"]["country"] == ""
    assert not CustomerProfile.objects.filter(user=staff).exists()


def test_patch_me_changes_details_and_profile(customer, customer_client):
    response = customer_client.patch(
        ME,
        {
            "first_name": "Ada",
            "email": "ada@example.org",
            "profile": {"city": "Leeds", "marketing_opt_in": True},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["profile"]["city"] == "Leeds"
    customer.refresh_from_db()
    assert (customer.first_name, customer.email) == ("Ada", "ada@example.org")
    assert customer.profile.city == "Leeds"
    assert customer.profile.marketing_opt_in is True
    assert customer.profile.country == "United Kingdom"  # untouched


def test_patch_me_creates_a_missing_profile(staff, staff_client):
    CustomerProfile.objects.filter(user=staff).delete()

    response = staff_client.patch(ME, {"profile": {"phone": "123"}}, format="json")

    assert response.status_code == 200
    assert CustomerProfile.objects.get(user=staff).phone == "123"


def test_patch_me_cannot_change_identity_or_privileges(customer, customer_client):
    customer.external_id = "C-1"
    customer.save()

    response = customer_client.patch(
        ME,
        {
            "username": "admin",
            "external_id": "C-2",
            "is_staff": True,
            "is_superuser": True,
            "last_name": "Lovelace",
        },
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.username != "admin"
    assert customer.external_id == "C-1"
    assert not customer.is_staff
    assert not customer.is_superuser
    assert customer.last_name == "Lovelace"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"profile": {"phone": "9" * 40}}, "profile"),
    ],
)
def test_patch_me_rejects_bad_values_naming_the_field(customer_client, payload, field):
    response = customer_client.patch(ME, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_token_obtain_and_use(customer):
    anonymous = APIClient()

    response = anonymous.post(
        TOKEN, {"username": customer.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    stored = AuthToken.objects.get(user=customer)
    assert token not in (stored.digest, stored.token_key)  # only a digest is kept
    assert stored.expiry is not None and body["expiry"]
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anonymous.get(ME).json()["username"] == customer.username


def test_token_obtain_refuses_a_wrong_password(customer):
    response = APIClient().post(
        TOKEN, {"username": customer.username, "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert not AuthToken.objects.exists()


def test_token_revoke(customer):
    client = APIClient()
    token = client.post(
        TOKEN, {"username": customer.username, "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.post(f"{TOKEN}revoke/").status_code == 204
    assert client.get(ME).status_code in (401, 403)
    assert not AuthToken.objects.filter(user=customer).exists()


def test_token_endpoint_is_throttled_per_client(customer, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "auth": "3/minute"},
    }
    client = APIClient()
    credentials = {"username": customer.username, "password": "wrong"}

    statuses = [client.post(TOKEN, credentials).status_code for _ in range(4)]

    assert statuses == [400, 400, 400, 429]
    # The right password does not get round the limit either.
    good = {"username": customer.username, "password": PASSWORD}
    assert client.post(TOKEN, good).status_code == 429


def test_token_endpoint_ignores_a_session(customer):
    """A signed-in browser gets a token without a CSRF round trip."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(CustomerFactory())

    response = client.post(
        TOKEN, {"username": customer.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    # The token is the credentials' user's, not the signed-in browser's.
    as_token = APIClient()
    as_token.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert as_token.get(ME).json()["username"] == customer.username
