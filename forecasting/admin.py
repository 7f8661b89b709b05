"""Admin of the forecasting app: sales history and plans, a price what-if, purchase
orders, reorder advice and upcoming stock-outs."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from catalog.models import Product
from ecomsite.admin_tools import (
    admin_changelist_url,
    admin_link,
    selected_object_filter,
)
from ecomsite.numbers import parse_whole_number, parse_whole_numbers

from . import selectors, services
from .models import PurchaseOrder, SalesRecord

ADVICE_PER_PAGE = 100
DEFAULT_STOCKOUT_DAYS = 28
MAX_WHAT_IF_DAYS = 365


class PlannedFilter(admin.SimpleListFilter):
    """Split recorded sales from planned prices and promotions (empty units)."""

    title = "planned or actual"
    parameter_name = "planned"

    def lookups(self, request, model_admin):
        return [
            ("actual", "Actual sales"),
            ("planned", "Planned price/promotion"),
            ("upcoming", "Upcoming plans"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "actual":
            return queryset.filter(units__isnull=False)
        if self.value() == "planned":
            return queryset.filter(units__isnull=True)
        if self.value() == "upcoming":
            return queryset.filter(
                units__isnull=True, period_start__gt=timezone.localdate()
            )
        return queryset


class SalesRecordForm(forms.ModelForm):
    """Enter a day's sales, or plan a price or promotion for a future date."""

    class Meta:
        model = SalesRecord
        fields = [
            "product",
            "period_start",
            "frequency",
            "units",
            "price",
            "base_price",
            "promo",
            "stockout",
            "competitor_price",
            "cost",
        ]
        help_texts = {
            "units": "Leave empty to plan a price or promotion for a future date.",
            "promo": "Share of the period on promotion: 0 to 1.",
        }

    def clean(self):
        data = super().clean()
        services.sales_record_check(
            units=data.get("units"),
            period_start=data.get("period_start"),
            price=data.get("price"),
            promo=data.get("promo") or 0.0,
        )
        return data


class WhatIfForm(forms.Form):
    """A product, a price to try, and how many days from today."""

    sku = forms.CharField(label="SKU", max_length=64)
    price = forms.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0.0001")
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_WHAT_IF_DAYS,
        initial=DEFAULT_STOCKOUT_DAYS,
        required=False,
        help_text=f"From today; {DEFAULT_STOCKOUT_DAYS} when left empty.",
    )

    def clean_days(self):
        return self.cleaned_data["days"] or DEFAULT_STOCKOUT_DAYS

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise ValidationError(f"No product has the SKU {sku!r}.")
        self.cleaned_data["product"] = product
        return sku


@admin.register(SalesRecord)
class SalesRecordAdmin(admin.ModelAdmin):
    form = SalesRecordForm
    list_display = [
        "product_link",
        "period_start",
        "frequency",
        "units_display",
        "price",
        "base_price",
        "promo",
        "stockout",
        "revenue",
        "competitor_price",
        "cost",
        "source",
    ]
    list_select_related = ["product"]
    list_filter = [
        selected_object_filter("product", "product"),
        "frequency",
        "source",
        PlannedFilter,
        "stockout",
        "period_start",
    ]
    search_fields = ["product__sku"]
    search_help_text = "SKU."
    ordering = ["product_id", "frequency", "period_start"]  # the unique index
    show_full_result_count = False
    autocomplete_fields = ["product"]
    readonly_fields = ["revenue", "source"]

    def get_changeform_initial_data(self, request):
        return {
            "frequency": SalesRecord.Frequency.DAY,
            **super().get_changeform_initial_data(request),
        }

    def save_model(self, request, obj, form, change):
        services.sales_record_save(record=obj)

    def get_urls(self):
        return [
            path(
                "what-if/",
                self.admin_site.admin_view(self.what_if_view),
                name="forecasting_salesrecord_what_if",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "what_if_url": reverse("admin:forecasting_salesrecord_what_if"),
        }
        return super().changelist_view(request, extra_context)

    def what_if_view(self, request):
        """Expected units, revenue and margin of a product at a price over the next
        days: the what-if of the API, from the served demand forecast."""
        if not (
            request.user.has_perm("catalog.view_product")
            or request.user.has_perm("catalog.change_product")
        ):
            raise PermissionDenied
        bound = "price" in request.GET
        sku = request.GET.get("sku", "").strip()
        product = Product.objects.filter(sku=sku).first() if sku else None
        form = WhatIfForm(
            request.GET if bound else None,
            initial={
                "sku": sku,
                "price": product.price if product else None,
                "days": DEFAULT_STOCKOUT_DAYS,
            },
        )
        result = None
        if bound and form.is_valid():
            product = form.cleaned_data["product"]
            result = selectors.what_if(
                product, form.cleaned_data["price"], form.cleaned_data["days"]
            )
        title = "What if the price were…"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{title} ({product.sku})" if product else title,
            "form": form,
            "answered": bound and form.is_valid(),
            "product": product,
            "what_if": result,
            "product_url": product
            and reverse("admin:catalog_product_change", args=[product.pk]),
            "forecast_url": product
            and reverse("forecasting:product", args=[product.sku]),
        }
        return TemplateResponse(request, "admin/forecasting/what_if.html", context)

    @admin.display(description="Product", ordering="product__sku")
    def product_link(self, record):
        return admin_link(record.product, record.product.sku)

    @admin.display(description="Units", ordering="units")
    def units_display(self, record):
        return "planned" if record.units is None else record.units


class PurchaseOrderForm(forms.ModelForm):
    class Meta:
        model = PurchaseOrder
        fields = [
            "product",
            "quantity",
            "ordered_on",
            "expected_on",
            "supplier_reference",
            "note",
        ]

    def clean(self):
        data = super().clean()
        ordered_on, expected_on = data.get("ordered_on"), data.get("expected_on")
        if ordered_on and expected_on and expected_on < ordered_on:
            self.add_error(
                "expected_on", "The delivery cannot be due before the order is placed."
            )
        return data


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    form = PurchaseOrderForm
    list_display = [
        "__str__",
        "product_link",
        "quantity",
        "ordered_on",
        "expected_on",
        "status",
        "supplier_reference",
        "created_by",
    ]
    list_display_links = ["__str__"]
    list_select_related = ["product", "created_by"]
    list_filter = [
        "status",
        selected_object_filter("product", "product"),
        "expected_on",
    ]
    search_fields = ["product__sku", "supplier_reference"]
    search_help_text = "SKU or supplier reference."
    autocomplete_fields = ["product"]
    actions = ["receive_selected", "cancel_selected"]
    date_hierarchy = "expected_on"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["status"]
        return [
            "product",
            "quantity",
            "ordered_on",
            "status",
            "received_at",
            "created_by",
        ]

    def get_changeform_initial_data(self, request):
        return {
            "ordered_on": timezone.localdate(),
            **super().get_changeform_initial_data(request),
        }

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != PurchaseOrder.Status.OPEN:
            return False  # received and cancelled orders are history
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == PurchaseOrder.Status.RECEIVED:
            return False  # its restock is in the stock ledger
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        created = services.purchase_order_create(
            product=obj.product,
            quantity=obj.quantity,
            expected_on=obj.expected_on,
            ordered_on=obj.ordered_on,
            supplier_reference=obj.supplier_reference,
            note=obj.note,
            user=request.user,
        )
        obj.pk, obj.created_by, obj.created_at = (
            created.pk,
            created.created_by,
            created.created_at,
        )

    @admin.display(description="Product", ordering="product__sku")
    def product_link(self, order):
        return admin_link(order.product, order.product.sku)

    @admin.action(description="Receive the selected orders", permissions=["change"])
    def receive_selected(self, request, queryset):
        self._apply(request, queryset, services.purchase_order_receive, "received")

    @admin.action(description="Cancel the selected orders", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._apply(request, queryset, services.purchase_order_cancel, "cancelled")

    def _apply(self, request, queryset, service, done: str) -> None:
        count = 0
        for order in queryset.select_related("product"):
            try:
                service(purchase_order=order, user=request.user)
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.WARNING)
            else:
                self.log_change(request, order, f"{done.capitalize()}.")
                count += 1
        if count:
            self.message_user(request, f"{count} purchase order(s) {done}.")

    # --- Reorder advice and upcoming stock-outs -------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "reorder/",
                view(self.reorder_view),
                name="forecasting_purchaseorder_reorder",
            ),
            path(
                "stockouts/",
                view(self.stockouts_view),
                name="forecasting_purchaseorder_stockouts",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "reorder_url": reverse("admin:forecasting_purchaseorder_reorder"),
            "stockouts_url": reverse("admin:forecasting_purchaseorder_stockouts"),
        }
        return super().changelist_view(request, extra_context)

    def reorder_view(self, request):
        """Products to reorder now, with a bulk "Create purchase orders"."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._create_suggested(request)
        advice = selectors.reorder_candidates()
        return self._advice_page(
            request,
            advice,
            title="Reorder now",
            intro="Stock-tracked products whose stock plus the orders due within "
            "their lead time is at or below the reorder point.",
            can_order=self.has_add_permission(request),
        )

    def stockouts_view(self, request):
        """Products running out within some days at pessimistic (P90) demand."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        days = request.GET.get("days", "")
        days = parse_whole_number(days, maximum=365) or None
        days = days or DEFAULT_STOCKOUT_DAYS
        advice = selectors.upcoming_stockouts(days=days)
        return self._advice_page(
            request,
            advice,
            title=f"Upcoming stock-outs in the next {days} days",
            intro="Stock-tracked products whose projected stock reaches zero at P90 "
            "(pessimistic) demand, incoming purchase orders included.",
            can_order=self.has_add_permission(request),
            days=days,
        )

    def _advice_page(self, request, advice, *, title, intro, can_order, days=None):
        page = Paginator(advice, ADVICE_PER_PAGE).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "page": page,
            "rows": [_advice_row(a) for a in page.object_list],
            "count": len(advice),
            "can_order": can_order,
            "days": days,
            "today": timezone.localdate(),
            "reorder_url": reverse("admin:forecasting_purchaseorder_reorder"),
            "stockouts_url": reverse("admin:forecasting_purchaseorder_stockouts"),
            "has_forecast": selectors.active_forecast_batch_id("demand") is not None,
        }
        return TemplateResponse(
            request, "admin/forecasting/purchaseorder/advice.html", context
        )

    def _create_suggested(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        ids = parse_whole_numbers(request.POST.getlist("product"))
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = reverse("admin:forecasting_purchaseorder_reorder")
        if not ids:
            self.message_user(
                request, "Select the products to order first.", messages.WARNING
            )
            return HttpResponseRedirect(back)
        created = services.purchase_orders_create_suggested(
            product_ids=ids, user=request.user
        )
        skipped = len(set(ids)) - len(created)
        self.message_user(
            request,
            f"Created {len(created)} purchase order(s) of the suggested quantities."
            + (f" {skipped} product(s) needed none." if skipped else ""),
        )
        return HttpResponseRedirect(
            admin_changelist_url(PurchaseOrder, status=PurchaseOrder.Status.OPEN)
        )


def _advice_row(advice: selectors.ReorderAdvice) -> dict:
    projection = advice.projection
    product: Product = advice.product
    return {
        "product": product,
        "product_url": reverse("admin:catalog_product_change", args=[product.pk]),
        "on_hand": product.stock_on_hand,
        "days_of_cover": projection.days_of_cover,
        "stockout_p50": projection.stockout_p50,
        "stockout_p90": projection.stockout_p90,
        "reorder_point": projection.reorder_point,
        "suggested_quantity": projection.suggested_quantity,
        "lead_time_days": advice.lead_time_days,
        "service_level": advice.service_level,
        "reorder_now": projection.reorder_now,
        "runs_out_before_delivery": projection.runs_out_before_delivery,
    }
