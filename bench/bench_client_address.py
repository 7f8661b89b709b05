"""How many password guesses and anonymous API calls get past the limits when each
request claims another address in X-Forwarded-For. Prints one JSON line.

    python bench/bench_client_address.py [--attempts 20]

Runs in-process on an in-memory SQLite database with the production limits: sign-in
10/minute, anonymous API 120/minute, lockout after 10 failures.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "ecomsite.settings.test"
os.environ["DATABASE_URL"] = "sqlite://:memory:"


def setup():
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)


def rest_framework(**changes) -> dict:
    from django.conf import settings

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "10/minute"}
    return {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates, **changes}


def forwarded(i: int, proxies: int) -> dict:
    spoof = f"198.51.{i // 250}.{i % 250}"
    return {"HTTP_X_FORWARDED_FOR": spoof if proxies == 0 else f"{spoof}, 203.0.113.7"}


def token_guesses(attempts: int, *, spoof: bool, proxies: int | None) -> int:
    """Return how many of `attempts` wrong passwords were throttled (429)."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import override_settings
    from rest_framework.test import APIClient

    cache.clear()
    user, _ = get_user_model().objects.get_or_create(username="guessed")
    changes = {} if proxies is None else {"NUM_PROXIES": proxies}
    with override_settings(
        REST_FRAMEWORK=rest_framework(**changes), AXES_ENABLED=False
    ):
        client = APIClient()
        statuses = [
            client.post(
                "/api/v1/auth/token/",
                {"username": user.username, "password": "wrong"},
                **(forwarded(i, proxies or 0) if spoof else {}),
            ).status_code
            for i in range(attempts)
        ]
    return statuses.count(429)


def anonymous_calls(calls: int) -> int:
    """Return how many of `calls` anonymous API reads, each with a new forwarded
    address, were throttled at the production rate (120/minute)."""
    from django.core.cache import cache
    from rest_framework.test import APIClient
    from rest_framework.throttling import AnonRateThrottle

    cache.clear()
    AnonRateThrottle.THROTTLE_RATES = {
        **AnonRateThrottle.THROTTLE_RATES,
        "anon": "120/minute",
    }
    client = APIClient()
    statuses = [
        client.get("/api/v1/categories/", **forwarded(i, 0)).status_code
        for i in range(calls)
    ]
    return statuses.count(429)


def sign_in_lockout(form: str, attempts: int) -> int | None:
    """Return how many of `attempts` wrong sign-ins (new forwarded address each)
    were refused with 429 by the lockout; None when the code has no lockout."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    if "axes" not in settings.INSTALLED_APPS:
        return None
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    user, _ = get_user_model().objects.get_or_create(username="locked")
    url = {
        "admin": "/admin/login/",
        "storefront": "/accounts/login/",
        "api-token": "/api/v1/auth/token/",
    }[form]
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=10):
        client = Client()
        statuses = [
            client.post(
                url, {"username": user.username, "password": "wrong"}, **forwarded(i, 0)
            ).status_code
            for i in range(attempts)
        ]
    return statuses.count(429)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=20)
    args = parser.parse_args()
    setup()
    n = args.attempts
    result = {
        "bench": "client address",
        "attempts": n,
        "sign_in_throttled_plain": token_guesses(n, spoof=False, proxies=None),
        "sign_in_throttled_new_forwarded_for_each": token_guesses(
            n, spoof=True, proxies=None
        ),
        "sign_in_throttled_one_proxy_spoofed_prefix": token_guesses(
            n, spoof=True, proxies=1
        ),
        "anonymous_api_calls": 130,
        "anonymous_api_throttled_new_forwarded_for_each": anonymous_calls(130),
        "lockout_refused": {
            form: sign_in_lockout(form, n)
            for form in ("admin", "storefront", "api-token")
        },
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
