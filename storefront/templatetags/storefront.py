"""Template helpers of the storefront."""

from django import template
from django.core.files.storage import default_storage
from django.urls import reverse

from storefront.basket import Basket
from storefront.context import categories_for

register = template.Library()


@register.filter
def media_url(name: str | None) -> str:
    """Return the URL of a stored file name, or an empty string."""
    return default_storage.url(name) if name else ""


@register.filter
def category_url(category) -> str:
    """Return the storefront URL of a category from the category index."""
    return reverse("storefront:category", args=[category.slug_path])


@register.inclusion_tag("storefront/_category_nav.html", takes_context=True)
def category_nav(context):
    """Render the top-level categories (read once per request)."""
    request = context.get("request")
    roots = categories_for(request).roots if request is not None else []
    trail = context.get("trail") or [None]  # the product page's categories
    current = context.get("category") or trail[0]
    return {"roots": roots, "current_root": _root_slug(current)}


def _root_slug(category) -> str:
    path = getattr(category, "slug_path", "") or ""
    return path.split("/", 1)[0]


@register.simple_tag(takes_context=True)
def basket_count(context) -> int:
    """Return the units in the visitor's basket (reads the session only)."""
    request = context.get("request")
    return Basket(request.session).count if request is not None else 0
