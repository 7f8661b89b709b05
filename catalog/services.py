"""Writes to the catalogue: categories, prices, stock movements and images."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .images import CheckedImage, ImageRejected, check_image
from .models import (
    CATEGORY_PATH_SEPARATOR,
    Category,
    PriceChange,
    Product,
    ProductImage,
    StockMovement,
)

Row = TypeVar("Row")


class InsufficientStock(Exception):
    """A movement would take a product's stock below zero."""

    def __init__(self, product: Product, requested: int, available: int):
        self.product = product
        self.requested = requested
        self.available = available
        super().__init__(
            f"Only {available} of {product.sku} in stock; {requested} requested."
        )


def category_get_or_create_by_path(path: str) -> Category:
    """Return the category named by `A > B > C`, creating missing levels."""
    names = [part.strip() for part in path.split(CATEGORY_PATH_SEPARATOR.strip())]
    if not path.strip() or any(not name for name in names):
        raise ValidationError(f"Category path {path!r} has an empty level.")
    parent = None
    for name in names:
        if len(name) > Category._meta.get_field("name").max_length:
            raise ValidationError(f"Category name {name[:40]!r}… is too long.")
        category = Category.objects.filter(parent=parent, name=name).first()
        if category is None:
            try:
                with transaction.atomic():
                    category = Category.objects.create(parent=parent, name=name)
            except IntegrityError:  # created meanwhile by a concurrent import
                category = Category.objects.get(parent=parent, name=name)
        parent = category
    return parent


@transaction.atomic
def product_set_price(
    *,
    product: Product,
    price: Decimal,
    source: str = PriceChange.Source.MANUAL,
    effective_at: datetime | None = None,
    user=None,
    note: str = "",
) -> PriceChange:
    """Record a price for the product; own prices (not competitors') become current."""
    if price < 0:
        raise ValidationError({"price": "A price cannot be negative."})
    effective_at = effective_at or timezone.now()
    change = PriceChange.objects.create(
        product=product,
        price=price,
        currency=product.currency,
        source=source,
        effective_at=effective_at,
        created_by=user,
        note=note,
    )
    if source != PriceChange.Source.COMPETITOR and product.price != price:
        product.price = price
        product.save(update_fields=["price", "updated_at"])
    return change


@transaction.atomic
def stock_record_movement(
    *,
    product: Product,
    kind: str,
    quantity: int,
    reference: str = "",
    note: str = "",
    occurred_at: datetime | None = None,
    user=None,
) -> StockMovement:
    """Add a signed movement to the product's stock ledger and update its on-hand.

    The update is conditional in the database, so concurrent sales can never take
    stock below zero: the loser gets InsufficientStock and nothing is written.
    """
    if quantity == 0:
        raise ValidationError({"quantity": "A stock movement cannot be zero."})
    if kind == StockMovement.Kind.SALE and quantity > 0:
        quantity = -quantity
    if kind in (StockMovement.Kind.RESTOCK, StockMovement.Kind.RETURN) and quantity < 0:
        raise ValidationError(
            {"quantity": f"A {kind} adds stock; give a positive number."}
        )
    updated = Product.objects.filter(
        pk=product.pk, stock_on_hand__gte=-quantity if quantity < 0 else 0
    ).update(stock_on_hand=F("stock_on_hand") + quantity, updated_at=timezone.now())
    # The row is now locked by this transaction, so this read sees our own update.
    balance = Product.objects.values_list("stock_on_hand", flat=True).get(pk=product.pk)
    if not updated:
        raise InsufficientStock(product, -quantity, balance)
    product.stock_on_hand = balance
    return StockMovement.objects.create(
        product=product,
        kind=kind,
        quantity=quantity,
        balance_after=balance,
        reference=reference,
        note=note,
        occurred_at=occurred_at or timezone.now(),
        created_by=user,
    )


def validate_product_image(raw: bytes) -> CheckedImage:
    """Check an uploaded image against the shop's limits; raise ValidationError if bad."""
    try:
        return check_image(
            raw,
            allowed_formats=settings.IMAGE_ALLOWED_FORMATS,
            max_bytes=settings.IMAGE_MAX_BYTES,
            max_pixels=settings.IMAGE_MAX_PIXELS,
            thumbnail_size=settings.IMAGE_THUMBNAIL_SIZE,
        )
    except ImageRejected as exc:
        raise ValidationError({"image": str(exc)}) from exc


@dataclass(frozen=True)
class ImageAdded:
    image: ProductImage
    created: bool


@transaction.atomic
def product_image_add(
    *, product: Product, raw: bytes, alt_text: str = "", position: int | None = None
) -> ImageAdded:
    """Validate and store a product image with its thumbnail; the same picture twice is kept once."""
    checked = validate_product_image(raw)
    existing = ProductImage.objects.filter(
        product=product, checksum=checked.checksum
    ).first()
    if existing:
        return ImageAdded(existing, created=False)
    if position is None:
        position = product.images.count()
    image = ProductImage(
        product=product,
        width=checked.width,
        height=checked.height,
        format=checked.format,
        size_bytes=len(checked.content),
        checksum=checked.checksum,
        position=position,
        alt_text=alt_text or product.name[:255],
    )
    image.image.save(
        f"image.{checked.extension}", ContentFile(checked.content), save=False
    )
    image.thumbnail.save("thumb.jpg", ContentFile(checked.thumbnail), save=False)
    image.save()
    return ImageAdded(image, created=True)


class SkuIndex(Generic[Row]):
    """SKU → product id for one import run, creating the products a file introduces.

    Products created here are not stock-tracked: an order or sales file says nothing
    about what is on the shelf, so they must never look out of stock.
    """

    def __init__(self):
        self.ids: dict[str, int] = {}

    def ensure(
        self, first_seen: dict[str, Row], build: Callable[[Row], Product]
    ) -> int:
        """Look up the SKUs not known yet; create the missing ones from `build(row)`.

        Return how many products were created.
        """
        unknown = [sku for sku in first_seen if sku not in self.ids]
        if not unknown:
            return 0
        self.ids.update(
            Product.objects.filter(sku__in=unknown).values_list("sku", "id")
        )
        missing = [sku for sku in unknown if sku not in self.ids]
        if not missing:
            return 0
        products = [build(first_seen[sku]) for sku in missing]
        for product in products:
            product.stock_tracked = False
        Product.objects.bulk_create(products, ignore_conflicts=True)
        created = dict(Product.objects.filter(sku__in=missing).values_list("sku", "id"))
        self.ids.update(created)
        return len(created)
