"""Writes to orders: the checkout."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Product, StockMovement
from catalog.services import InsufficientStock, stock_record_movement
from recommender.models import BehaviourEvent

from .models import Order, OrderLine


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int


def new_order_number() -> str:
    return f"W{timezone.now():%Y%m%d}-{uuid.uuid4().hex[:10].upper()}"


@transaction.atomic
def order_place(*, customer, lines: list[CartLine], country: str = "") -> Order:
    """Place an order: take the stock, write ledger entries and purchase events.

    Everything happens in one transaction; if any product lacks stock, nothing is
    written and InsufficientStock names it. Lines are handled in product-id order so
    that concurrent checkouts lock rows in the same order and cannot deadlock.
    """
    if not lines:
        raise ValidationError("An order needs at least one line.")
    quantities: dict[int, int] = {}
    for line in lines:
        if line.quantity <= 0:
            raise ValidationError({"quantity": "Quantities must be at least 1."})
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    products = Product.objects.in_bulk(sorted(quantities))
    missing = sorted(set(quantities) - set(products))
    inactive = [p.sku for p in products.values() if not p.is_active]
    if missing:
        raise ValidationError({"product": f"Unknown product id(s): {missing}."})
    if inactive:
        raise ValidationError({"product": f"Not for sale: {', '.join(inactive)}."})

    now = timezone.now()
    currencies = {p.currency for p in products.values()}
    if len(currencies) > 1:
        raise ValidationError(
            {"product": "All products of an order must share a currency."}
        )
    order = Order.objects.create(
        number=new_order_number(),
        customer=customer,
        status=Order.Status.PAID,
        source=Order.Source.SHOP,
        placed_at=now,
        currency=currencies.pop(),
        country=country,
    )
    order_lines = []
    for number, product_id in enumerate(sorted(quantities), start=1):
        product = products[product_id]
        quantity = quantities[product_id]
        if product.stock_tracked:
            stock_record_movement(
                product=product,
                kind=StockMovement.Kind.SALE,
                quantity=-quantity,
                reference=order.number,
                occurred_at=now,
            )
        order_lines.append(
            OrderLine(
                order=order,
                line_number=number,
                product=product,
                quantity=quantity,
                unit_price=product.price,
            )
        )
    OrderLine.objects.bulk_create(order_lines)
    order.total = sum((line.line_total for line in order_lines), Decimal("0"))
    order.save(update_fields=["total", "updated_at"])
    BehaviourEvent.objects.bulk_create(
        BehaviourEvent(
            kind=BehaviourEvent.Kind.PURCHASE,
            customer=customer,
            product_id=line.product_id,
            order=order,
            quantity=line.quantity,
            occurred_at=now,
        )
        for line in order_lines
    )
    return order


def orders_recalculate_totals(*, order_ids) -> int:
    """Set each order's total to the sum of its lines, in one query; return the count."""
    money = DecimalField(max_digits=14, decimal_places=2)
    line_sums = (
        OrderLine.objects.filter(order_id=OuterRef("pk"))
        .values("order_id")
        .annotate(total=Sum(F("quantity") * F("unit_price"), output_field=money))
        .values("total")
    )
    return Order.objects.filter(pk__in=order_ids).update(
        total=Coalesce(Subquery(line_sums), Decimal(0), output_field=money)
    )


__all__ = ["CartLine", "InsufficientStock", "order_place", "orders_recalculate_totals"]
