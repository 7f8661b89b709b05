"""Extra admin pages of the catalogue: recording a stock movement for a product, and
the decisions of the category review queue."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ecomsite.admin_tools import admin_change_url, admin_changelist_url
from ecomsite.numbers import parse_whole_number

from .admin_forms import StockMovementForm
from .categorisation import category_by_id_or_path, review_accept, review_override
from .models import Category, Product, StockMovement
from .services import InsufficientStock, stock_record_movement


def record_stock_movement(model_admin, request, object_id: str):
    """Show and handle the form that adds a movement to a product's stock ledger."""
    product = model_admin.get_object(request, unquote(object_id))
    opts = model_admin.opts
    if product is None:
        return model_admin._get_obj_does_not_exist_redirect(request, opts, object_id)
    if not (
        model_admin.has_change_permission(request, product)
        and request.user.has_perm("catalog.add_stockmovement")
    ):
        raise PermissionDenied
    if not product.stock_tracked:
        model_admin.message_user(
            request,
            f"The stock of {product.sku} is not tracked; tick “Stock tracked” first.",
            messages.ERROR,
        )
        return redirect(admin_change_url(product))

    form = StockMovementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            movement = stock_record_movement(
                product=product, user=request.user, **form.cleaned_data
            )
        except InsufficientStock as exc:
            form.add_error("quantity", str(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            model_admin.log_change(
                request, product, f"Recorded stock movement {movement}."
            )
            model_admin.message_user(
                request,
                f"Recorded {movement.get_kind_display().lower()} of "
                f"{movement.quantity:+d}; {product.sku} now has "
                f"{movement.balance_after} in stock.",
                messages.SUCCESS,
            )
            return redirect(admin_change_url(product))

    recent = product.stock_movements.select_related("created_by")[:10]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Record stock movement: {product.sku}",
        "opts": opts,
        "original": product,
        "form": form,
        "recent_movements": recent,
        "ledger_url": admin_changelist_url(StockMovement, product=product.pk),
    }
    return TemplateResponse(
        request, "admin/catalog/product/stock_movement_form.html", context
    )


def review_decide(model_admin, request):
    """Apply one decision posted from the review queue, then go back to the list.

    `accept=<product>:<category>` accepts one of the suggestions (the top one is an
    acceptance, another an override); `pick=<product>` with `pick-<product>` set to
    a category path or id files the product elsewhere.
    """
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_review_permission(request):
        raise PermissionDenied
    try:
        product, category = _posted_decision(request.POST)
        if category.pk == product.auto_category_id:
            review_accept(product=product, user=request.user)
        else:
            review_override(product=product, category=category, user=request.user)
    except ValidationError as exc:
        model_admin.message_user(request, " ".join(exc.messages), messages.ERROR)
    else:
        model_admin.log_change(request, product, f"Filed under {category.path}.")
        model_admin.message_user(
            request, f"{product.sku} filed under {category.path}.", messages.SUCCESS
        )
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("admin:catalog_categoryreview_changelist")
    return redirect(back)


def _posted_decision(data) -> tuple[Product, Category]:
    """Return the product and category a review button posted, or ValidationError."""
    if "accept" in data:
        product_id, _, category_id = data["accept"].partition(":")
        chosen = category_id
    elif "pick" in data:
        product_id = data["pick"]
        chosen = data.get(f"pick-{product_id}", "").strip()
        if not chosen:
            raise ValidationError("Type or choose a category to file the product in.")
    else:
        raise ValidationError("No decision was posted.")
    product_pk = parse_whole_number(product_id)
    product = Product.objects.filter(pk=product_pk).first() if product_pk else None
    if product is None:
        raise ValidationError("That product no longer exists.")
    return product, category_by_id_or_path(chosen)
