"""Reads of orders, scoped to who is asking."""

from django.db.models import Prefetch, QuerySet

from .models import Order, OrderLine


def order_list_for(user) -> QuerySet[Order]:
    """Return the orders a user may see: staff who may view orders all of them,
    anyone else (customers, other staff) only their own."""
    orders = Order.objects.select_related("customer")
    if user.is_staff and user.has_perm("orders.view_order"):
        return orders
    return orders.filter(customer=user)


def order_list_with_lines_for(*, user) -> QuerySet[Order]:
    """Return the orders a user may see, with their lines and products prefetched."""
    lines = OrderLine.objects.select_related("product").order_by("line_number")
    return order_list_for(user).prefetch_related(Prefetch("lines", queryset=lines))


def order_history_for(*, customer) -> QuerySet[Order]:
    """Return a customer's own orders, newest first, with their lines and products
    prefetched (staff too see only their own here: this is the shop's history)."""
    lines = OrderLine.objects.select_related("product").order_by("line_number")
    return (
        Order.objects.filter(customer=customer)
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("-placed_at", "-id")
    )
