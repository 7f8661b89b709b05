"""Fixtures shared by the whole suite."""

import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, StaffFactory


def pytest_report_header(config):
    """Print the fuzz tests' seed, so that a failing run can be replayed."""
    from tests.security.fuzzing import replay_hint

    return f"fuzz: {replay_hint()}"


def pytest_collection_modifyitems(config, items):
    """Skip PostgreSQL-only tests on SQLite, and refuse to skip them in CI."""
    if connection.vendor == "postgresql":
        return
    if os.environ.get("CI") and not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError(
            "CI must set TEST_DATABASE_URL so that PostgreSQL-only tests run."
        )
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: make test runs it when TEST_DATABASE_URL is set"
    )
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def other_customer(db):
    return CustomerFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def customer_client(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client
