"""Forms of the storefront: category filters and the basket."""

from django import forms
from django.core.exceptions import ValidationError

from catalog.models import Category

from .basket import MAX_QUANTITY
from .selectors import Sort


class CategoryFilterForm(forms.Form):
    """Filters and sorting of a category page, read from the query string."""

    sub = forms.ChoiceField(label="Category", required=False)
    min_price = forms.DecimalField(
        label="Min price", required=False, min_value=0, max_digits=12, decimal_places=2
    )
    max_price = forms.DecimalField(
        label="Max price", required=False, min_value=0, max_digits=12, decimal_places=2
    )
    in_stock = forms.BooleanField(label="In stock only", required=False)
    sort = forms.ChoiceField(label="Sort by", choices=Sort.CHOICES, required=False)

    def __init__(self, data, *, category: Category):
        super().__init__(data)
        self.children = {child.slug_path: child for child in category.tree_children}
        self.fields["sub"].choices = [("", f"All of {category.name}")] + [
            (slug, child.name) for slug, child in self.children.items()
        ]
        for name in ("min_price", "max_price"):
            self.fields[name].widget.attrs.update(
                {"inputmode": "decimal", "step": "0.01", "placeholder": "any"}
            )

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError("The minimum price is above the maximum price.")
        return data

    def filters(self) -> dict:
        """Return the valid filters (an invalid field is left out, not applied)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        low_high_valid = not self.non_field_errors()
        return {
            "sub": self.children.get(data.get("sub") or ""),
            "min_price": data.get("min_price") if low_high_valid else None,
            "max_price": data.get("max_price") if low_high_valid else None,
            "in_stock": bool(data.get("in_stock")),
            "sort": data.get("sort") or Sort.POPULAR,
        }


class AddToBasketForm(forms.Form):
    sku = forms.CharField(widget=forms.HiddenInput, max_length=64)
    quantity = forms.IntegerField(
        label="Quantity", min_value=1, max_value=MAX_QUANTITY, initial=1
    )
