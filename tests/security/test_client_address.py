"""Throttles and lockout count against the real client, whatever headers it sends.

NUM_PROXIES=0 (the default) uses REMOTE_ADDR only; with N trusted proxies the N-th
address from the end of X-Forwarded-For is the client's, so entries a client adds
in front change nothing. The same rule serves the API throttles and the sign-in
lockout (django-axes) of the admin, the storefront and the token endpoint.
"""

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
TOKEN = "/api/v1/auth/token/"
ATTEMPTS = 20


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sign_in_rate(settings):
    """The production sign-in limit (10/minute) instead of the tests' generous one."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "10/minute",
        },
    }
    settings.AXES_ENABLED = False  # the throttle alone here; lockout below
    return settings


def use_proxies(settings, count: int) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}


def spoofed(i: int) -> dict:
    return {"HTTP_X_FORWARDED_FOR": f"198.51.100.{i}"}


@pytest.mark.parametrize("spoof", [False, True], ids=["plain", "new-header-each"])
def test_sign_in_throttle_ignores_forwarded_for_without_proxies(sign_in_rate, spoof):
    customer = CustomerFactory()
    client = APIClient()
    wrong = {"username": customer.username, "password": "wrong"}

    statuses = [
        client.post(TOKEN, wrong, **(spoofed(i) if spoof else {})).status_code
        for i in range(ATTEMPTS)
    ]

    assert statuses.count(429) == ATTEMPTS - 10, statuses


def test_behind_one_proxy_only_the_address_it_added_counts(sign_in_rate):
    use_proxies(sign_in_rate, 1)
    customer = CustomerFactory()
    client = APIClient()
    wrong = {"username": customer.username, "password": "wrong"}

    statuses = [
        client.post(
            TOKEN, wrong, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 203.0.113.7"
        ).status_code
        for i in range(ATTEMPTS)
    ]
    other_client = client.post(TOKEN, wrong, HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert statuses.count(429) == ATTEMPTS - 10, statuses
    assert other_client.status_code == 400  # another real client is not throttled


def test_anonymous_api_throttle_ignores_forwarded_for(monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "5/minute"})
    client = APIClient()

    statuses = [
        client.get("/api/v1/categories/", **spoofed(i)).status_code for i in range(10)
    ]

    assert statuses.count(429) == 5, statuses


@pytest.fixture
def lockout(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def storefront_login(client, username, password, i):
    return client.post(
        reverse("storefront:login"),
        {"username": username, "password": password},
        **spoofed(i),
    )


def admin_login(client, username, password, i):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        **spoofed(i),
    )


def token_login(client, username, password, i):
    return client.post(
        TOKEN, {"username": username, "password": password}, **spoofed(i)
    )


@pytest.mark.parametrize(
    "sign_in, client_class",
    [
        (storefront_login, Client),
        (admin_login, Client),
        (token_login, APIClient),
    ],
    ids=["storefront", "admin", "api-token"],
)
def test_repeated_failures_lock_the_client_out_of_every_sign_in(
    lockout, sign_in, client_class
):
    user = StaffFactory()
    client = client_class()

    failures = [
        sign_in(client, user.username, "wrong", i).status_code for i in range(3)
    ]
    locked = sign_in(client, user.username, PASSWORD, 99)

    # The third failure reaches the limit and is answered with the lockout.
    assert 429 not in failures[:2] and failures[2] == 429, failures
    assert locked.status_code == 429, locked.content[:200]
    assert "Too many failed sign-ins" in locked.content.decode()
    assert locked["Retry-After"] == str(15 * 60)
    assert AccessAttempt.objects.filter(ip_address="127.0.0.1").exists()
    if sign_in is token_login:
        assert locked.json()["detail"].startswith("Too many failed sign-ins")


def test_a_successful_sign_in_resets_the_count(lockout):
    user = CustomerFactory()
    client = APIClient()
    for i in range(2):
        token_login(client, user.username, "wrong", i)

    assert token_login(client, user.username, PASSWORD, 0).status_code == 200
    statuses = [
        token_login(client, user.username, "wrong", i).status_code for i in range(2)
    ]
    assert statuses == [400, 400]


def test_sign_in_without_a_request_is_not_counted(lockout):
    from django.contrib.auth import authenticate

    user = CustomerFactory()
    for _ in range(5):
        assert authenticate(username=user.username, password="wrong") is None

    assert authenticate(username=user.username, password=PASSWORD) == user
