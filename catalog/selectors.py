"""Reads of the catalogue."""

from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from .models import Category, Product


def category_effective_defaults(category: Category | None) -> tuple[int, Decimal]:
    """Return (lead time days, service level) of a category, inheriting up the tree."""
    lead_time = service_level = None
    node = category
    while node is not None and (lead_time is None or service_level is None):
        if lead_time is None:
            lead_time = node.default_lead_time_days
        if service_level is None:
            service_level = node.default_service_level
        node = node.parent
    if lead_time is None:
        lead_time = settings.SHOP_DEFAULT_LEAD_TIME_DAYS
    if service_level is None:
        service_level = Decimal(str(settings.SHOP_DEFAULT_SERVICE_LEVEL))
    return lead_time, service_level


def product_lead_time_days(product: Product) -> int:
    """Return the product's lead time, falling back to its category's default."""
    if product.lead_time_days is not None:
        return product.lead_time_days
    return category_effective_defaults(product.category)[0]


def product_service_level(product: Product) -> Decimal:
    """Return the product's target service level, falling back to its category's."""
    if product.service_level is not None:
        return product.service_level
    return category_effective_defaults(product.category)[1]


def product_list(*, active_only: bool = True) -> QuerySet[Product]:
    """Return products with their category, ready for lists."""
    products = Product.objects.select_related("category")
    if active_only:
        products = products.filter(is_active=True)
    return products


def category_leaves() -> QuerySet[Category]:
    """Return categories that have no children."""
    return Category.objects.filter(children__isnull=True)
