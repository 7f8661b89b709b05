"""Admin of behaviour events and served lists (read-only outputs) and operator rules."""

from django import forms
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
from .models import (
    BehaviourEvent,
    ProductRecommendation,
    Recommendation,
    RecommendationRule,
)


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


@admin.register(ProductRecommendation)
class ProductRecommendationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Served "similar" and "bought together" lists; written only by batch inference."""

    list_display = [
        "product",
        "list",
        "rank",
        "recommended",
        "score",
        "reason",
        "batch",
    ]
    list_select_related = ["product", "recommended", "batch"]
    list_filter = ["list", "batch__state"]
    raw_id_fields = ["product", "recommended", "batch"]
    search_fields = ["=product__sku"]
    search_help_text = "Exact SKU of the product whose list it is."
    ordering = ["-batch_id", "product_id", "list", "rank"]
    show_full_result_count = False


class RecommendationRuleForm(forms.ModelForm):
    class Meta:
        model = RecommendationRule
        fields = ["action", "product", "category", "position", "is_active", "note"]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        product, category = data.get("product"), data.get("category")
        if product and category:
            raise forms.ValidationError("Choose a product or a category, not both.")
        if not product and not category:
            raise forms.ValidationError("Choose the product or category it applies to.")
        if action == RecommendationRule.Action.PIN and not product:
            self.add_error(
                "product", "A pin needs a product: categories are not pinned."
            )
        return data


@admin.register(RecommendationRule)
class RecommendationRuleAdmin(admin.ModelAdmin):
    """Operator rules applied whenever lists are served: pin or exclude."""

    form = RecommendationRuleForm
    list_display = [
        "action",
        "target",
        "position",
        "is_active",
        "note",
        "created_by",
        "created_at",
    ]
    list_display_links = ["action", "target"]
    list_select_related = ["product", "category", "created_by"]
    list_filter = ["action", "is_active"]
    list_editable = ["is_active"]
    search_fields = ["product__sku", "product__name", "category__path", "note"]
    search_help_text = "SKU, product name, category path or note."
    autocomplete_fields = ["product", "category"]
    fieldsets = [
        (
            None,
            {
                "fields": ["action", "product", "category", "position", "is_active"],
                "description": "A pin puts an active, in-stock product at its position "
                "in every customer's “for you” list. An exclusion keeps a product, or "
                "a category with its subcategories, out of every list.",
            },
        ),
        ("Record", {"fields": ["note", "created_by", "created_at"]}),
    ]
    readonly_fields = ["created_by", "created_at"]
    ordering = ["-is_active", "action", "position", "id"]

    @admin.display(description="Applies to")
    def target(self, rule):
        if rule.product_id:
            return admin_link(rule.product, str(rule.product))
        return admin_link(rule.category, rule.category.path if rule.category else None)

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
