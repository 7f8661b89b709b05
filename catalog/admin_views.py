"""Extra admin pages of the catalogue: recording a stock movement for a product."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from ecomsite.admin_tools import admin_change_url, admin_changelist_url

from .admin_forms import StockMovementForm
from .models import StockMovement
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
