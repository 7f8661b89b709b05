"""A small shop whose customers each favour one category, for ML platform tests."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import User
from catalog.models import Category, Product
from orders.models import Order, OrderLine


def build_shop(*, customers=40, categories=4, per_category=6, purchases=6, seed=0):
    """Create customers who buy mostly (85%) from one favourite category, over 60 days."""
    rng = np.random.default_rng(seed)
    cats = [Category.objects.create(name=f"Cat {c}") for c in range(categories)]
    products = Product.objects.bulk_create(
        Product(
            sku=f"P{c}-{i}",
            name=f"Product {c}-{i}",
            category=cats[c],
            price=Decimal("10.00"),
            stock_tracked=False,
        )
        for c in range(categories)
        for i in range(per_category)
    )
    by_category = [
        products[c * per_category : (c + 1) * per_category] for c in range(categories)
    ]
    users = User.objects.bulk_create(
        User(username=f"shopper{u}", password="!") for u in range(customers)
    )
    start = timezone.now() - timedelta(days=60)
    orders, lines = [], []
    for u, user in enumerate(users):
        favourite = u % categories
        for n in range(purchases):
            category = (
                favourite if rng.random() < 0.85 else int(rng.integers(categories))
            )
            weights = np.arange(per_category, 0, -1, dtype=float)
            item = by_category[category][
                rng.choice(per_category, p=weights / weights.sum())
            ]
            order = Order(
                number=f"T{u}-{n}",
                customer=user,
                status=Order.Status.COMPLETED,
                placed_at=start + timedelta(days=n * 9 + u % 5, hours=u % 24),
            )
            orders.append(order)
            lines.append((order, item))
    Order.objects.bulk_create(orders)
    OrderLine.objects.bulk_create(
        OrderLine(order=o, line_number=1, product=p, quantity=1, unit_price=p.price)
        for o, p in lines
    )
    return users, products


@pytest.fixture
def shop(db):
    return build_shop()
