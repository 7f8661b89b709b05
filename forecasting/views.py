"""Staff pages of the forecasts: one page per product, and the upcoming stock-outs.

The pages show what `forecasting.display.forecast_display` gathers (shared with the
product admin page) and the price what-if of `forecasting.selectors`.
"""

from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from catalog.models import Product
from catalog.selectors import product_lead_time_days, product_service_level
from mlops.models import ModelKind

from . import selectors
from .display import forecast_display

STOCKOUT_DAYS = 28


def staff_page(view):
    """Let in staff who may view forecasts; send anonymous visitors to the admin
    login, refuse customers and other staff."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("Forecasts are for staff.")
        if not user.has_perm("forecasting.view_forecastpoint"):
            raise PermissionDenied("Viewing forecasts needs that permission.")
        return view(request, *args, **kwargs)

    return guarded


# --- Pages ---------------------------------------------------------------------------


class WhatIfForm(forms.Form):
    """A price to try over the next days."""

    price = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    days = forms.IntegerField(min_value=1, max_value=365, initial=STOCKOUT_DAYS)


class StockoutWindowForm(forms.Form):
    days = forms.IntegerField(
        min_value=1, max_value=365, required=False, label="Within (days)"
    )


@staff_page
def product_forecast(request: HttpRequest, sku: str) -> HttpResponse:
    """Show a product's demand, price and stock forecasts, and a price what-if."""
    product = get_object_or_404(Product.objects.select_related("category"), sku=sku)
    display = forecast_display(product)
    form = WhatIfForm(
        request.GET if "price" in request.GET else None,
        initial={"price": product.price, "days": STOCKOUT_DAYS},
    )
    what_if = None
    if form.is_bound and form.is_valid():
        what_if = selectors.what_if(
            product, form.cleaned_data["price"], form.cleaned_data["days"]
        )
    stock_tracked = product.stock_tracked
    context = {
        **admin.site.each_context(request),
        "title": f"Forecast of {product.sku}",
        "subtitle": product.name,
        "product": product,
        "display": display,
        "form": form,
        "what_if": what_if,
        "lead_time_days": product_lead_time_days(product) if stock_tracked else None,
        "service_level": product_service_level(product) if stock_tracked else None,
        "product_admin_url": reverse("admin:catalog_product_change", args=[product.pk]),
    }
    return render(request, "forecasting/product.html", context)


@staff_page
def upcoming_stockouts(request: HttpRequest) -> HttpResponse:
    """List products that run out within some days at pessimistic (P90) demand."""
    form = StockoutWindowForm(request.GET or None, initial={"days": STOCKOUT_DAYS})
    days = STOCKOUT_DAYS
    if form.is_bound and form.is_valid() and form.cleaned_data["days"]:
        days = form.cleaned_data["days"]
    context = {
        **admin.site.each_context(request),
        "title": "Upcoming stock-outs",
        "form": form,
        "days": days,
        "advice": selectors.upcoming_stockouts(days),
        "has_forecast": selectors.active_forecast_batch_id(ModelKind.DEMAND)
        is not None,
    }
    return render(request, "forecasting/stockouts.html", context)
