"""Query-string filters of the order list."""

import django_filters

from orders.models import Order


class OrderFilter(django_filters.FilterSet):
    customer = django_filters.NumberFilter(
        field_name="customer_id", help_text="Customer id (useful to staff only)."
    )

    class Meta:
        model = Order
        fields = ["customer", "status"]
