"""Admin of behaviour events and served recommendations: read-only, both are outputs."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q

from catalog.models import Product
from ecomsite.admin_tools import (
    FastDateHierarchyMixin,
    ReadOnlyAdminMixin,
    admin_link,
    selected_object_filter,
)

from . import admin_segments  # noqa: F401  (registers the segment admin)
from .models import BehaviourEvent, Recommendation


@admin.register(BehaviourEvent)
class BehaviourEventAdmin(FastDateHierarchyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "kind",
        "customer_link",
        "session_key",
        "product_link",
        "quantity",
        "query",
        "order_link",
    ]
    list_select_related = ["customer", "product", "order"]
    list_filter = [
        selected_object_filter("customer", "customer"),
        selected_object_filter("product", "product"),
        "kind",
    ]
    date_hierarchy = "occurred_at"
    search_fields = ["product__sku", "customer__email", "=session_key", "query"]
    search_help_text = "SKU, customer e-mail, exact session key or search text."
    # Newest recorded first: the primary key orders millions of events without a
    # sort (there is no index that starts with occurred_at).
    ordering = ["-id"]
    show_full_result_count = False
    raw_id_fields = ["customer", "product", "order"]
    max_searched_products = 500

    def get_search_results(self, request, queryset, search_term):
        """Find events by customer e-mail or SKU, else by session key or search text.

        Products and customers are looked up in their own tables first, so millions
        of events are not joined to them to compare text; the session key and search
        text (no index) are searched only when no SKU matches.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            customers = get_user_model().objects.filter(email__icontains=term)
            return queryset.filter(customer__in=customers.values("pk")), False
        products = Product.objects.filter(sku__icontains=term)
        product_ids = list(
            products.values_list("pk", flat=True)[: self.max_searched_products + 1]
        )
        if len(product_ids) > self.max_searched_products:
            return queryset.filter(product__in=products.values("pk")), False
        if product_ids:
            return queryset.filter(product_id__in=product_ids), False
        search = BehaviourEvent.Kind.SEARCH
        others = Q(session_key=term) | Q(kind=search, query__icontains=term)
        return queryset.filter(others), False

    @admin.display(description="Customer", ordering="customer__email")
    def customer_link(self, event):
        return admin_link(event.customer) if event.customer_id else "Anonymous"

    @admin.display(description="Product", ordering="product__sku")
    def product_link(self, event):
        return admin_link(event.product, event.product.sku if event.product else None)

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, event):
        return admin_link(event.order, event.order.number if event.order else None)


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Served "for you" lists, newest batch first; written only by batch inference."""

    list_display = ["customer", "rank", "product", "score", "reason", "batch"]
    list_select_related = ["customer", "product", "batch"]
    list_filter = ["batch__state"]
    raw_id_fields = ["customer", "product", "batch"]
    search_fields = ["=customer__username", "=customer__external_id", "product__sku"]
    ordering = ["-batch_id", "customer_id", "rank"]
    show_full_result_count = False
