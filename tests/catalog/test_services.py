"""Catalogue services and selectors: category paths, prices, effective defaults."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Category, PriceChange
from catalog.selectors import product_lead_time_days, product_service_level
from catalog.services import category_get_or_create_by_path, product_set_price
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_category_path_creates_missing_levels_once():
    mugs = category_get_or_create_by_path("Home > Kitchen > Mugs")
    again = category_get_or_create_by_path("Home>Kitchen>Mugs")

    assert again == mugs
    assert mugs.path == "Home > Kitchen > Mugs"
    assert mugs.depth == 2
    assert mugs.parent.parent.name == "Home"
    assert Category.objects.count() == 3


@pytest.mark.parametrize("path", ["", "Home >  > Mugs", " > Mugs"])
def test_category_path_with_an_empty_level_is_refused(path):
    with pytest.raises(ValidationError, match="empty level"):
        category_get_or_create_by_path(path)


@pytest.mark.postgres
def test_database_refuses_two_roots_with_the_same_name():
    CategoryFactory(name="Garden")
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Garden")


def test_own_price_change_updates_product_and_history():
    product = ProductFactory(price=Decimal("10.00"))

    product_set_price(product=product, price=Decimal("8.50"), source="promotion")

    product.refresh_from_db()
    assert product.price == Decimal("8.50")
    change = product.price_changes.get()
    assert (change.price, change.source) == (
        Decimal("8.50"),
        PriceChange.Source.PROMOTION,
    )


def test_competitor_price_is_recorded_but_not_applied():
    product = ProductFactory(price=Decimal("10.00"))

    product_set_price(product=product, price=Decimal("7.00"), source="competitor")

    product.refresh_from_db()
    assert product.price == Decimal("10.00")
    assert product.price_changes.get().source == PriceChange.Source.COMPETITOR


def test_negative_price_is_refused():
    with pytest.raises(ValidationError, match="negative"):
        product_set_price(product=ProductFactory(), price=Decimal("-1"))


def test_lead_time_and_service_level_inherit_from_category_then_shop(settings):
    settings.SHOP_DEFAULT_LEAD_TIME_DAYS = 9
    settings.SHOP_DEFAULT_SERVICE_LEVEL = 0.9
    root = CategoryFactory(default_lead_time_days=14)
    leaf = CategoryFactory(parent=root, default_service_level=Decimal("0.980"))
    inherits = ProductFactory(category=leaf)
    own = ProductFactory(
        category=leaf, lead_time_days=3, service_level=Decimal("0.900")
    )
    orphan = ProductFactory(category=None)

    assert product_lead_time_days(inherits) == 14
    assert product_service_level(inherits) == Decimal("0.980")
    assert (product_lead_time_days(own), product_service_level(own)) == (
        3,
        Decimal("0.900"),
    )
    assert product_lead_time_days(orphan) == 9
    assert product_service_level(orphan) == Decimal("0.9")
