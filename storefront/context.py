"""What several parts of one request share: the category index, read once."""

from django.http import HttpRequest

from .selectors import CategoryIndex, category_index


def categories_for(request: HttpRequest) -> CategoryIndex:
    """Return the category index, read at most once per request."""
    index = getattr(request, "_storefront_categories", None)
    if index is None:
        index = request._storefront_categories = category_index()
    return index
