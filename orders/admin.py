"""Admin of orders: lists that stay fast with millions of lines, lines inline."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from ecomsite.admin_tools import (
    FastDateHierarchyMixin,
    KnownObjectAutocompleteInlineMixin,
    admin_link,
    selected_object_filter,
)
from ecomsite.exporting import csv_download

from .models import Order, OrderLine
from .services import orders_recalculate_totals

ORDER_COLUMNS = [
    "number",
    "placed_at",
    "customer_id",
    "customer_email",
    "kind",
    "status",
    "source",
    "country",
    "currency",
    "total",
    "lines",
]


def order_export_rows(queryset):
    """Yield the CSV header, then one row per order (annotated with `line_count`)."""
    yield ORDER_COLUMNS
    rows = queryset.select_related("customer").order_by("placed_at", "pk")
    for order in rows.iterator(chunk_size=2000):
        yield [
            order.number,
            order.placed_at.isoformat(),
            order.customer_id or "",
            order.customer.email if order.customer_id else "",
            order.kind,
            order.status,
            order.source,
            order.country,
            order.currency,
            order.total,
            order.line_count,
        ]


def line_count() -> Subquery:
    """Count an order's lines in a subquery, so that only the rows shown are counted."""
    lines = (
        OrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(lines), 0)


class OrderLineInline(KnownObjectAutocompleteInlineMixin, admin.TabularInline):
    model = OrderLine
    fields = ["line_number", "product", "quantity", "unit_price", "line_total"]
    readonly_fields = ["line_total"]
    autocomplete_fields = ["product"]
    ordering = ["line_number"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description="Line total")
    def line_total(self, line):
        return line.line_total if line.pk else "—"


@admin.register(Order)
class OrderAdmin(FastDateHierarchyMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "customer_link",
        "kind",
        "status",
        "source",
        "placed_at",
        "total_display",
        "line_count",
    ]
    list_select_related = ["customer"]
    list_filter = [
        selected_object_filter("customer", "customer"),
        "status",
        ("placed_at", admin.DateFieldListFilter),
        "kind",
        "source",
    ]
    actions = ["export_selected"]
    date_hierarchy = "placed_at"
    search_fields = ["number", "customer__email", "=customer__external_id"]
    search_help_text = "Order number (or part of it), customer e-mail or customer id."
    ordering = ["-placed_at", "-id"]
    show_full_result_count = False
    autocomplete_fields = ["customer"]
    inlines = [OrderLineInline]
    readonly_fields = ["total", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["number", "customer", "kind", "status", "source"]}),
        ("Placed", {"fields": ["placed_at", "country", "currency", "total"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(line_count=line_count())

    def get_search_results(self, request, queryset, search_term):
        """Find orders by customer e-mail, or by order number or exact customer id.

        Each lookup uses an index or a small table; Django's default would compare
        text on every order (joined to its customer), seconds on a large shop. A
        partial order number is searched only when nothing matches exactly.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = get_user_model().objects.values_list("pk", flat=True)
        if "@" in term:
            by_email = customers.filter(email__icontains=term)
            return queryset.filter(customer__in=by_email), False
        # Ids fetched first, so that the database can use both indexes at once.
        customer_ids = list(customers.filter(external_id=term))
        exact = queryset.filter(Q(number=term) | Q(customer_id__in=customer_ids))
        if exact.exists():
            return exact, False
        return queryset.filter(number__icontains=term), False

    def save_related(self, request, form, formsets, change):
        """Save the lines, then the order's total from them.

        Lines edited here do not move stock: record a stock movement on the product.
        """
        super().save_related(request, form, formsets, change)
        orders_recalculate_totals(order_ids=[form.instance.pk])

    @admin.action(description="Export selected orders (CSV)")
    def export_selected(self, request, queryset):
        """Download the selected orders (the whole filtered list with "select all")."""
        return csv_download(order_export_rows(queryset), "orders.csv")

    @admin.display(description="Customer", ordering="customer__email")
    def customer_link(self, order):
        return admin_link(order.customer) if order.customer_id else "Guest"

    @admin.display(description="Total", ordering="total")
    def total_display(self, order):
        return f"{order.total} {order.currency}"

    @admin.display(description="Lines")
    def line_count(self, order):
        return order.line_count


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = [
        "order_number",
        "line_number",
        "product_sku",
        "quantity",
        "unit_price",
        "line_total",
    ]
    list_select_related = ["order", "product"]
    list_filter = [
        selected_object_filter("order", "order"),
        selected_object_filter("product", "product"),
    ]
    search_fields = ["=order__number", "product__sku"]
    search_help_text = "Exact order number or SKU."
    ordering = ["-order_id", "line_number"]
    show_full_result_count = False
    autocomplete_fields = ["order", "product"]

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, line):
        return admin_link(line.order, line.order.number)

    @admin.display(description="Product", ordering="product__sku")
    def product_sku(self, line):
        return admin_link(line.product, line.product.sku)

    @admin.display(description="Line total")
    def line_total(self, line):
        return line.line_total
