"""Filters of the admin dashboard: sparklines, signed percentages, progress bars."""

from django import template

from ..admin import progress_bar
from ..dashboard.sparkline import sparkline as draw_sparkline

register = template.Library()


@register.filter
def sparkline(values, label: str):
    """Render a daily series as an SVG sparkline with a text alternative."""
    return draw_sparkline(values, label=str(label))


@register.filter
def signed_percent(value: float) -> str:
    return f"{value:+.0%}"


@register.filter
def get_item(mapping, key):
    """Return `mapping[key]`, or None (a template cannot index by a variable)."""
    return (mapping or {}).get(key)


@register.filter
def run_progress_bar(run):
    return progress_bar(run)


@register.filter
def top_tables(sales) -> list[tuple[str, list, str]]:
    """Return (title, rows, admin URL name) of the top products and categories."""
    return [
        ("products", sales.top_products, "admin:catalog_product_change"),
        ("categories", sales.top_categories, "admin:catalog_category_change"),
    ]
