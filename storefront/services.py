"""Writes of the storefront: what visitors do."""

from django.utils import timezone

from accounts.models import CustomerProfile
from catalog.models import Product
from orders.models import Order
from orders.services import order_place
from recommender.models import BehaviourEvent

from .basket import Basket


def product_view_record(
    *, product: Product, customer=None, session_key: str | None = None
) -> BehaviourEvent:
    """Record that a visitor viewed a product (one insert)."""
    return BehaviourEvent.objects.create(
        kind=BehaviourEvent.Kind.VIEW,
        customer=customer,
        session_key=session_key or "",
        product=product,
        occurred_at=timezone.now(),
    )


def basket_add_record(
    *,
    product: Product,
    quantity: int,
    customer=None,
    session_key: str | None = None,
) -> BehaviourEvent:
    """Record that a visitor put units of a product in their basket (one insert)."""
    return BehaviourEvent.objects.create(
        kind=BehaviourEvent.Kind.ADD_TO_CART,
        customer=customer,
        session_key=session_key or "",
        product=product,
        quantity=quantity,
        occurred_at=timezone.now(),
    )


def basket_checkout(*, customer, basket: Basket) -> Order:
    """Place the basket as the customer's order, then empty the basket.

    `order_place` writes everything or nothing: when a product lacks stock it
    raises InsufficientStock (a ValidationError for anything else not for sale) and
    the basket is kept as it was.
    """
    country = (
        CustomerProfile.objects.filter(user=customer)
        .values_list("country", flat=True)
        .first()
    )
    order = order_place(
        customer=customer, lines=basket.cart_lines(), country=country or ""
    )
    basket.clear()
    return order
