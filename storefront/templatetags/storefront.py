"""Template helpers of the storefront."""

from django import template
from django.core.files.storage import default_storage

register = template.Library()


@register.filter
def media_url(name: str | None) -> str:
    """Return the URL of a stored file name, or an empty string."""
    return default_storage.url(name) if name else ""
