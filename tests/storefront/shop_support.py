"""A small shop for the storefront tests: Kitchen (Mugs, Teapots) and Garden."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Category, Product
from tests.factories import (
    CategoryFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)


@dataclass
class Shop:
    kitchen: Category
    mugs: Category
    teapots: Category
    garden: Category
    blue_mug: Product
    red_mug: Product
    teapot: Product
    spade: Product


def make_shop() -> Shop:
    """Return a two-level category tree with a product or two in each leaf."""
    kitchen = CategoryFactory(name="Kitchen")
    mugs = CategoryFactory(name="Mugs", parent=kitchen)
    teapots = CategoryFactory(name="Teapots", parent=kitchen)
    garden = CategoryFactory(name="Garden")
    return Shop(
        kitchen=kitchen,
        mugs=mugs,
        teapots=teapots,
        garden=garden,
        blue_mug=ProductFactory(
            sku="MUG-BLUE",
            name="Blue mug",
            category=mugs,
            price=Decimal("8.00"),
            stock=5,
        ),
        red_mug=ProductFactory(
            sku="MUG-RED",
            name="Red mug",
            category=mugs,
            price=Decimal("12.00"),
            stock=0,
        ),
        teapot=ProductFactory(
            sku="POT-1",
            name="Round teapot",
            category=teapots,
            price=Decimal("30.00"),
            stock_tracked=False,
        ),
        spade=ProductFactory(
            sku="SPADE-1",
            name="Spade",
            category=garden,
            price=Decimal("25.00"),
            stock=3,
        ),
    )


def sell(product: Product, quantity: int, *, days_ago: int = 1, **order_fields) -> None:
    """Record a past sale of `quantity` units (an order of one line)."""
    order = OrderFactory(
        placed_at=timezone.now() - timedelta(days=days_ago), **order_fields
    )
    OrderLineFactory(
        order=order, product=product, quantity=quantity, unit_price=product.price
    )
