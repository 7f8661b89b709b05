"""Writes of the storefront: what visitors do."""

from django.utils import timezone

from catalog.models import Product
from recommender.models import BehaviourEvent


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
