"""Reads of orders, scoped to who is asking."""

from django.db.models import QuerySet

from .models import Order


def order_list_for(user) -> QuerySet[Order]:
    """Return the orders a user may see: staff all of them, a customer only their own."""
    orders = Order.objects.select_related("customer")
    if user.is_staff:
        return orders
    return orders.filter(customer=user)
