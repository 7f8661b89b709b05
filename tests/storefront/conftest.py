"""Fixtures of the storefront tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start each test without the popularity another test left in the cache."""
    cache.clear()
    yield
    cache.clear()
