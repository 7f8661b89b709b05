"""Query-string filters of the product list (django-filter)."""

import django_filters

from .models import Category, Product
from .selectors import product_filter_in_category, product_filter_in_stock


class ProductFilter(django_filters.FilterSet):
    """Filter products by category (with its descendants), price range and stock."""

    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(),
        method="filter_category",
        help_text="Category id; products of its descendant categories are included.",
    )
    min_price = django_filters.NumberFilter(
        field_name="price", lookup_expr="gte", help_text="Lowest price, inclusive."
    )
    max_price = django_filters.NumberFilter(
        field_name="price", lookup_expr="lte", help_text="Highest price, inclusive."
    )
    in_stock = django_filters.BooleanFilter(
        method="filter_in_stock",
        help_text="true: available now (untracked products always are); "
        "false: sold out.",
    )

    class Meta:
        model = Product
        fields = ["category", "min_price", "max_price", "in_stock"]

    def filter_category(self, queryset, name, value):
        return product_filter_in_category(queryset, category=value)

    def filter_in_stock(self, queryset, name, value):
        return product_filter_in_stock(queryset, in_stock=value)
