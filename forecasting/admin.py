"""Admin of the sales history that the forecasts learn from."""

from django.contrib import admin

from ecomsite.admin_tools import admin_link, selected_object_filter

from .models import SalesRecord


class PlannedFilter(admin.SimpleListFilter):
    """Split recorded sales from planned prices and promotions (empty units)."""

    title = "planned or actual"
    parameter_name = "planned"

    def lookups(self, request, model_admin):
        return [("actual", "Actual sales"), ("planned", "Planned price/promotion")]

    def queryset(self, request, queryset):
        if self.value() == "actual":
            return queryset.filter(units__isnull=False)
        if self.value() == "planned":
            return queryset.filter(units__isnull=True)
        return queryset


@admin.register(SalesRecord)
class SalesRecordAdmin(admin.ModelAdmin):
    list_display = [
        "product_link",
        "period_start",
        "frequency",
        "units_display",
        "price",
        "base_price",
        "promo",
        "competitor_price",
        "source",
    ]
    list_select_related = ["product"]
    list_filter = [
        selected_object_filter("product", "product"),
        "frequency",
        "source",
        PlannedFilter,
        "period_start",
    ]
    search_fields = ["product__sku"]
    search_help_text = "SKU."
    ordering = ["product_id", "frequency", "period_start"]  # the unique index
    show_full_result_count = False
    autocomplete_fields = ["product"]

    @admin.display(description="Product", ordering="product__sku")
    def product_link(self, record):
        return admin_link(record.product, record.product.sku)

    @admin.display(description="Units", ordering="units")
    def units_display(self, record):
        return "planned" if record.units is None else record.units
