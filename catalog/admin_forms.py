"""Forms of the catalogue admin: image uploads, stock movements, capped history.

A new picture queues its product for classification once an image model is champion.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from ecomsite.admin_tools import admin_changelist_url

from .models import ProductImage, StockMovement
from .services import product_image_add, validate_product_image
from .tasks import classify_products_on_commit


class ProductImageForm(forms.ModelForm):
    """Upload a product picture; Pillow checks it before anything is stored.

    New pictures are stored by `catalog.services.product_image_add`, which re-encodes
    them, computes the checksum and makes the thumbnail. A stored picture cannot be
    swapped for another file: delete it and add the new one.
    """

    upload = forms.FileField(
        label="Image file",
        required=False,
        help_text="JPEG, PNG, WebP or GIF; checked and re-encoded when saved.",
    )

    class Meta:
        model = ProductImage
        fields = ["product", "alt_text", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raw_image: bytes | None = None
        self.checksum: str | None = None
        if self.instance.pk:
            self.fields["upload"].disabled = True
            self.fields[
                "upload"
            ].help_text = "To replace a picture, delete it and add the new one."

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if self.instance.pk or upload is None:
            return None
        if upload.size > settings.IMAGE_MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size:,} bytes; the limit is "
                f"{settings.IMAGE_MAX_BYTES:,} bytes."
            )
        raw = upload.read()
        try:
            checked = validate_product_image(raw)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        self.raw_image, self.checksum = raw, checked.checksum
        return upload

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk or "upload" in self.errors:
            return cleaned
        if self.raw_image is None:
            self.add_error("upload", "Choose an image file to upload.")
            return cleaned
        product = cleaned.get("product")
        product_id = product.pk if product else self.instance.product_id
        duplicate = ProductImage.objects.filter(
            product_id=product_id, checksum=self.checksum
        )
        if product_id and duplicate.exists():
            self.add_error("upload", "This picture is already on the product.")
        return cleaned

    def save(self, commit=True):
        if self.instance.pk:
            return super().save(commit)
        added = product_image_add(
            product=self.cleaned_data.get("product") or self.instance.product,
            raw=self.raw_image,
            alt_text=self.cleaned_data.get("alt_text", ""),
            position=self.cleaned_data.get("position"),
        )
        self.instance = added.image
        self.save_m2m = self._save_m2m
        if added.created:
            classify_products_on_commit([added.image.product_id])
        return added.image


class RecentRowsFormSet(BaseInlineFormSet):
    """Show only the newest rows of a history that may run to thousands of entries."""

    max_rows = 20

    def get_queryset(self):
        if not hasattr(self, "_recent_rows"):
            rows = super().get_queryset()
            self.total_rows = rows.count()
            self._recent_rows = rows[: self.max_rows]
        return self._recent_rows

    def full_list_url(self) -> str:
        """Return the admin list of all rows of this history."""
        return admin_changelist_url(self.model, **{self.fk.name: self.instance.pk})


class StockMovementForm(forms.Form):
    """A restock, adjustment or return recorded by staff (sales come from orders)."""

    kind = forms.ChoiceField(
        choices=[
            (kind.value, kind.label)
            for kind in (
                StockMovement.Kind.RESTOCK,
                StockMovement.Kind.ADJUSTMENT,
                StockMovement.Kind.RETURN,
            )
        ]
    )
    quantity = forms.IntegerField(
        help_text="Units added; an adjustment may be negative, e.g. -2 for breakage."
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="Purchase order, RMA number…"
    )
    note = forms.CharField(max_length=255, required=False)

    def clean(self):
        cleaned = super().clean()
        kind, quantity = cleaned.get("kind"), cleaned.get("quantity")
        if quantity == 0:
            self.add_error("quantity", "A stock movement cannot be zero.")
        elif quantity is not None and quantity < 0 and kind != "adjustment":
            self.add_error("quantity", f"A {kind} adds stock; give a positive number.")
        return cleaned
