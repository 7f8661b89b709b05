"""Storefront pages: home, categories, product, basket, checkout, orders, "for you"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog.selectors import (
    product_catalogue,
    product_list,
    visually_similar_products,
)
from catalog.services import InsufficientStock
from ecomsite.numbers import parse_whole_number
from orders.selectors import order_history_for
from recommender.selectors import (
    bought_together,
    recommendations_for,
    serving_rules,
    similar_products,
)

from .basket import MAX_QUANTITY, Basket, basket_total
from .context import categories_for
from .forms import AddToBasketForm, CategoryFilterForm
from .selectors import category_product_page, trending_products
from .services import basket_add_record, basket_checkout, product_view_record

HOME_PRODUCTS = 12
LIST_LENGTH = 8
CATEGORY_PAGE_SIZE = 24
ORDER_PAGE_SIZE = 20


def _is_shopper(request: HttpRequest) -> bool:
    """Whether what the visitor does counts as customer behaviour (staff does not)."""
    return not request.user.is_staff


def _customer(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def home(request: HttpRequest) -> HttpResponse:
    """Show what sells now and the categories."""
    context = {
        "products": trending_products(limit=HOME_PRODUCTS),
        "categories": categories_for(request).roots,
    }
    return render(request, "storefront/home.html", context)


def category_detail(request: HttpRequest, slug_path: str) -> HttpResponse:
    """List a category's active products, its sub-categories' too, filtered and
    sorted, a page at a time. Listing records no views: only product pages do."""
    index = categories_for(request)
    category = index.find(slug_path)
    if category is None:
        raise Http404("No such category.")
    form = CategoryFilterForm(request.GET, category=category)
    filters = form.filters()
    page = category_product_page(
        category=filters["sub"] or category,
        min_price=filters["min_price"],
        max_price=filters["max_price"],
        in_stock=filters["in_stock"],
        sort=filters["sort"],
        page_number=request.GET.get("page"),
        per_page=CATEGORY_PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "category": category,
        "ancestors": index.trail(category.pk)[:-1],
        "form": form,
        "page": page,
        "query": query.urlencode(),
    }
    return render(request, "storefront/category.html", context)


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
        "looks_alike": visually_similar_products(
            product, limit=LIST_LENGTH, rules=rules
        ),
        "trail": categories_for(request).trail(product.category_id),
        "form": AddToBasketForm(initial={"sku": product.sku, "quantity": 1}),
        "in_basket": Basket(request.session).quantity_of(product.pk),
    }
    if _is_shopper(request):
        product_view_record(
            product=product,
            customer=_customer(request),
            session_key=request.session.session_key,
        )
    return render(request, "storefront/product.html", context)


@login_required(login_url="storefront:login")
def for_you(request: HttpRequest) -> HttpResponse:
    """Show the signed-in customer's "recommended for you" list."""
    items = recommendations_for(request.user)
    return render(request, "storefront/for_you.html", {"items": items})


# --- Basket and checkout ------------------------------------------------------------


@require_POST
def basket_add(request: HttpRequest) -> HttpResponse:
    """Put units of a product in the basket (no more than are in stock)."""
    product = product_list().filter(sku=request.POST.get("sku", "")).first()
    if product is None:
        raise Http404("No such product.")
    form = AddToBasketForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose a quantity from 1 to {MAX_QUANTITY}.")
        return redirect("storefront:product", product.sku)
    if product.is_out_of_stock:
        messages.error(request, f"Sorry, {product.name} is out of stock.")
        return redirect("storefront:product", product.sku)
    basket = Basket(request.session)
    before = basket.quantity_of(product.pk)
    wanted = before + form.cleaned_data["quantity"]
    if product.stock_tracked and wanted > product.stock_on_hand:
        wanted = product.stock_on_hand
        messages.warning(
            request,
            f"Only {product.stock_on_hand} of {product.name} in stock: "
            f"your basket holds {wanted}.",
        )
    added = basket.set(product.pk, wanted) - before
    if added <= 0:
        return redirect("storefront:basket")
    if _is_shopper(request):
        if request.session.session_key is None:
            request.session.save()  # so that an anonymous cart add has a session
        basket_add_record(
            product=product,
            quantity=added,
            customer=_customer(request),
            session_key=request.session.session_key,
        )
    messages.success(request, f"Added {product.name} to your basket.")
    return redirect("storefront:basket")


def basket_detail(request: HttpRequest) -> HttpResponse:
    """Show the basket; a POST changes quantities or removes a line."""
    basket = Basket(request.session)
    if request.method == "POST":
        _basket_update(request, basket)
        return redirect("storefront:basket")
    lines = basket.lines()
    context = {"lines": lines, "total": basket_total(lines)}
    return render(request, "storefront/basket.html", context)


def _basket_update(request: HttpRequest, basket: Basket) -> None:
    remove = parse_whole_number(request.POST.get("remove", ""))
    if remove is not None:
        basket.remove(remove)
        messages.success(request, "Removed from your basket.")
        return
    bad = False
    for pk in list(basket.items):
        raw = request.POST.get(f"quantity-{pk}")
        if raw is None:
            continue
        quantity = parse_whole_number(raw)
        if quantity is None:
            bad = True
            continue
        basket.set(pk, quantity)
    if bad:
        messages.error(request, "Quantities must be whole numbers; 0 removes a line.")
    else:
        messages.success(request, "Your basket is up to date.")


@login_required(login_url="storefront:login")
def checkout(request: HttpRequest) -> HttpResponse:
    """Review the basket and place the order; stock problems are shown, nothing is
    written and the basket stays as it was."""
    basket = Basket(request.session)
    if not basket:
        messages.info(request, "Your basket is empty.")
        return redirect("storefront:basket")
    error = None
    if request.method == "POST":
        try:
            order = basket_checkout(customer=request.user, basket=basket)
        except InsufficientStock as exc:
            error = _shortage_message(exc)
        except ValidationError as exc:
            error = " ".join(exc.messages) + " Nothing was ordered."
        else:
            return redirect("storefront:order-placed", order.number)
    lines = basket.lines()
    context = {"lines": lines, "total": basket_total(lines), "error": error}
    return render(request, "storefront/checkout.html", context)


def _shortage_message(exc: InsufficientStock) -> str:
    name = exc.product.name
    if exc.available <= 0:
        said = f"Sorry, {name} sold out meanwhile. Remove it from your basket"
    else:
        said = (
            f"Sorry, only {exc.available} of {name} left in stock (your basket asks "
            f"for {exc.requested}). Change the quantity in your basket"
        )
    return f"{said} and try again. Nothing was ordered."


# --- Orders -----------------------------------------------------------------------


def _own_order(request: HttpRequest, number: str):
    order = order_history_for(customer=request.user).filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    return order


@login_required(login_url="storefront:login")
def order_placed(request: HttpRequest, number: str) -> HttpResponse:
    """Thank the customer and show the order they just placed."""
    context = {"order": _own_order(request, number), "placed": True}
    return render(request, "storefront/order_detail.html", context)


@login_required(login_url="storefront:login")
def order_list(request: HttpRequest) -> HttpResponse:
    """List the signed-in customer's own orders, newest first."""
    orders = order_history_for(customer=request.user)
    page = Paginator(orders, ORDER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "storefront/order_list.html", {"page": page, "query": ""})


@login_required(login_url="storefront:login")
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    """Show one of the customer's orders (someone else's is not found)."""
    context = {"order": _own_order(request, number), "placed": False}
    return render(request, "storefront/order_detail.html", context)
