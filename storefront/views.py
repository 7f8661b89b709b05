"""Storefront pages: home, product, "recommended for you"."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from catalog.selectors import product_catalogue, product_list
from recommender.selectors import (
    bought_together,
    first_image_name,
    recommendations_for,
    serving_rules,
    similar_products,
)

from .services import product_view_record

HOME_PRODUCTS = 12
LIST_LENGTH = 8


def home(request: HttpRequest) -> HttpResponse:
    """Show a few of the newest products."""
    products = (
        product_list()
        .annotate(image_name=first_image_name("pk"))
        .order_by("-created_at", "-pk")[:HOME_PRODUCTS]
    )
    return render(request, "storefront/home.html", {"products": products})


def product_detail(request: HttpRequest, sku: str) -> HttpResponse:
    """Show an active product with what customers may also like; record the view."""
    product = product_catalogue().filter(sku=sku).first()
    if product is None:
        raise Http404("No such product.")
    rules = serving_rules()
    context = {
        "product": product,
        "image": next(iter(product.images.all()), None),
        "similar": similar_products(product, limit=LIST_LENGTH, rules=rules),
        "bought_together": bought_together(product, limit=LIST_LENGTH, rules=rules),
    }
    user = request.user
    if not user.is_staff:  # staff looking at the shop are not customer behaviour
        product_view_record(
            product=product,
            customer=user if user.is_authenticated else None,
            session_key=request.session.session_key,
        )
    return render(request, "storefront/product.html", context)


@login_required(login_url="storefront:login")
def for_you(request: HttpRequest) -> HttpResponse:
    """Show the signed-in customer's "recommended for you" list."""
    items = recommendations_for(request.user)
    return render(request, "storefront/for_you.html", {"items": items})
