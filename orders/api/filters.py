"""Query-string filters of the order list."""

import django_filters
from django import forms

from orders.models import Order


class IdFilter(django_filters.NumberFilter):
    """A whole-number id: a decimal or an out-of-range number is a 400, not a 500."""

    field_class = forms.IntegerField


class OrderFilter(django_filters.FilterSet):
    customer = IdFilter(
        field_name="customer_id",
        min_value=1,
        max_value=2**63 - 1,
        help_text="Customer id (useful to staff only).",
    )

    class Meta:
        model = Order
        fields = ["customer", "status"]
