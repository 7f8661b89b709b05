"""Import the catalogue from the generic CSV `sku,name,category,price,image`.

Existing SKUs are updated in place; a price that differs from the stored one (or the
first price of a new product) is recorded as a PriceChange with source `import`.
Images are validated while the row is read, so a bad image rejects its row before
anything of it is written.

Stock: an optional `stock` column (units on hand) makes the product stock-tracked
and records the difference as an adjustment in its stock ledger; `stock_tracked`
(yes/no) says it outright. A new product without either is untracked, never "out of
stock", unless the shop's SHOP_NEW_PRODUCTS_STOCK_TRACKED says otherwise: a file
without stock figures says nothing about what is on the shelf.

A category given in the file is the shop's own statement, as if an operator had set
it: its source becomes `imported`, the image model never overwrites it and learns
from it (an operator's confirmation of the same category stays `operator`). An empty
category keeps the product's current one; new products without one are classified
once an image model is champion.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ecomsite.importing import (
    BatchResult,
    ImportFileError,
    ImportOptions,
    ImportSummary,
    Row,
    RowRejected,
    decimal,
    integer,
    optional_text,
    run_import,
    text,
)

from .models import (
    CATEGORY_PATH_SEPARATOR,
    Category,
    PriceChange,
    Product,
    StockMovement,
)
from .services import (
    category_get_or_create_by_path,
    product_image_add,
    stock_record_movement,
    validate_product_image,
)
from .tasks import classify_products_on_commit

TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}
UPDATABLE_FIELDS = [
    "name",
    "description",
    "category_id",
    "category_source",
    "price",
    "cost",
    "currency",
]


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One valid row; None means "not given, keep what the product has"."""

    sku: str
    name: str
    price: Decimal
    category_path: str
    image: Path | None
    description: str | None
    cost: Decimal | None
    currency: str | None
    is_active: bool | None
    stock: int | None = None  # units on hand
    stock_tracked: bool | None = None


def category_path_levels(path: str, field_name: str = "category") -> list[str]:
    """Return the levels of `A > B > C`, rejecting empty or over-long ones."""
    levels = [level.strip() for level in path.split(CATEGORY_PATH_SEPARATOR.strip())]
    max_length = Category._meta.get_field("name").max_length
    if any(not level for level in levels):
        raise RowRejected(
            field_name, f"{path[:60]!r} has an empty level; expected e.g. 'Home > Mugs'"
        )
    if any(len(level) > max_length for level in levels):
        raise RowRejected(field_name, f"a level is longer than {max_length} characters")
    return levels


class CategoryCache:
    """Map category paths to ids for one run, creating missing levels once.

    The category tree is small next to an import, so it is read whole on first use.
    """

    def __init__(self):
        self._ids: dict[str, int] | None = None

    def id_for(self, path: str, created: Counter) -> int | None:
        """Return the id of the category at `path` (None for ''), counting creations."""
        if not path:
            return None
        if self._ids is None:
            self._ids = dict(Category.objects.values_list("path", "id"))
        if path not in self._ids:
            levels = path.split(CATEGORY_PATH_SEPARATOR)
            prefixes = [
                CATEGORY_PATH_SEPARATOR.join(levels[: depth + 1])
                for depth in range(len(levels))
            ]
            missing = [prefix for prefix in prefixes if prefix not in self._ids]
            category = category_get_or_create_by_path(path)
            created["categories"] += len(missing)
            if len(missing) > 1:  # the service made the parents too; learn their ids
                self._ids.update(
                    Category.objects.filter(path__in=missing).values_list("path", "id")
                )
            self._ids[path] = category.id
        return self._ids[path]


class ProductImporter:
    """Parse and write rows of the generic product CSV."""

    # category and image may be empty, but their columns must be there, so that a
    # misspelt header fails instead of silently importing products without them.
    required_columns = ("sku", "name", "category", "price", "image")
    optional_columns = (
        "description",
        "cost",
        "currency",
        "active",
        "stock",
        "stock_tracked",
    )
    unit = "products"

    def __init__(self, *, images_dir: Path, source_name: str = ""):
        self.images_dir = images_dir.resolve()
        self.source_name = source_name
        self.categories = CategoryCache()
        self._first_line: dict[str, int] = {}

    def parse(self, values: dict[str, str]) -> ProductRow:
        """Return the row checked; images are opened and validated here."""
        category = optional_text(values, "category", max_length=500)
        if category:
            category = CATEGORY_PATH_SEPARATOR.join(category_path_levels(category))
        currency = optional_text(values, "currency").upper() or None
        if currency is not None and (len(currency) != 3 or not currency.isalpha()):
            raise RowRejected(
                "currency", f"{currency!r} is not a 3-letter code like EUR"
            )
        return ProductRow(
            sku=text(values, "sku", max_length=64),
            name=text(values, "name", max_length=255),
            price=decimal(values, "price", min_value=Decimal(0)),
            category_path=category,
            image=self._checked_image(optional_text(values, "image")),
            description=optional_text(values, "description") or None,
            cost=decimal(values, "cost", required=False, min_value=Decimal(0)),
            currency=currency,
            is_active=self._flag(values, "active"),
            stock=(
                integer(values, "stock", min_value=0, allow_float_form=True)
                if (values.get("stock") or "").strip()
                else None
            ),
            stock_tracked=self._flag(values, "stock_tracked"),
        )

    def _checked_image(self, relative: str) -> Path | None:
        if not relative:
            return None
        path = (self.images_dir / relative).resolve()
        if not path.is_relative_to(self.images_dir):
            raise RowRejected("image", f"{relative!r} points outside {self.images_dir}")
        try:
            raw = path.read_bytes()
        except OSError:
            raise RowRejected(
                "image", f"{relative!r} was not found in {self.images_dir}"
            ) from None
        try:
            validate_product_image(raw)
        except ValidationError as exc:
            raise RowRejected(
                "image", f"{relative!r}: {' '.join(exc.messages)}"
            ) from None
        return path

    @staticmethod
    def _flag(values: dict[str, str], name: str) -> bool | None:
        raw = (values.get(name) or "").strip().lower()
        if not raw:
            return None
        if raw in TRUE_WORDS:
            return True
        if raw in FALSE_WORDS:
            return False
        raise RowRejected(name, f"{raw[:20]!r} is not a yes/no value; expected 1 or 0")

    def write(self, rows: list[Row]) -> BatchResult:
        """Create new SKUs, update changed ones, record prices, add images."""
        result = BatchResult()
        accepted: list[Row] = []
        for row in rows:
            first = self._first_line.setdefault(row.parsed.sku, row.line)
            if first != row.line:
                result.rejects.append(
                    (
                        row,
                        f"sku: {row.parsed.sku} already appears on line {first}; "
                        "expected each SKU once per file",
                    )
                )
            else:
                accepted.append(row)
        existing = Product.objects.in_bulk(
            [row.parsed.sku for row in accepted], field_name="sku"
        )
        now = timezone.now()
        new_tracked = settings.SHOP_NEW_PRODUCTS_STOCK_TRACKED
        new, changed, prices, images, stock = [], [], [], [], []
        for row in accepted:
            data: ProductRow = row.parsed
            category_id = self.categories.id_for(data.category_path, result.created)
            product = existing.get(data.sku)
            if product is None:
                product = Product(
                    sku=data.sku,
                    name=data.name,
                    description=data.description or "",
                    category_id=category_id,
                    category_source=(
                        Product.CategorySource.IMPORTED
                        if category_id
                        else Product.CategorySource.NONE
                    ),
                    price=data.price,
                    cost=data.cost,
                    currency=data.currency or settings.SHOP_CURRENCY,
                    is_active=True if data.is_active is None else data.is_active,
                    stock_tracked=_tracked(data, default=new_tracked),
                )
                new.append(product)
                prices.append(product)
            else:
                before = self._state(product)
                if product.price != data.price:
                    prices.append(product)
                self._apply(product, data, category_id)
                if self._state(product) != before:
                    product.updated_at = now
                    changed.append(product)
            if data.image is not None:
                images.append((row, product))
            if data.stock is not None:
                stock.append((product, data.stock))
        Product.objects.bulk_create(new)
        Product.objects.bulk_update(
            changed, [*UPDATABLE_FIELDS, "is_active", "stock_tracked", "updated_at"]
        )
        if stock:
            result.created["stock figures"] += self._record_stock(stock)
        PriceChange.objects.bulk_create(
            PriceChange(
                product=product,
                price=product.price,
                currency=product.currency,
                source=PriceChange.Source.IMPORT,
                effective_at=now,
                note=f"import {self.source_name}"[:255],
            )
            for product in prices
        )
        with_new_image = self._add_images(images, result)
        classify_products_on_commit(p.pk for p in with_new_image)
        result.imported = len(new)
        touched = {p.pk for p in changed} | {p.pk for p in with_new_image}
        result.updated = len(touched - {p.pk for p in new})
        result.already_present = len(accepted) - result.imported - result.updated
        return result

    def _record_stock(self, figures: list[tuple[Product, int]]) -> int:
        """Bring each product's on-hand to the file's figure through its ledger."""
        for product, on_hand in figures:
            change = on_hand - product.stock_on_hand
            if change:
                stock_record_movement(
                    product=product,
                    kind=StockMovement.Kind.ADJUSTMENT,
                    quantity=change,
                    note=f"import {self.source_name}"[:255],
                )
        return len(figures)

    @staticmethod
    def _state(product: Product) -> tuple:
        return tuple(
            getattr(product, name)
            for name in [*UPDATABLE_FIELDS, "is_active", "stock_tracked"]
        )

    @staticmethod
    def _apply(product: Product, data: ProductRow, category_id: int | None) -> None:
        product.name = data.name
        product.price = data.price
        if category_id is not None:  # an empty category keeps the current one
            if not (
                product.category_id == category_id
                and product.category_source == Product.CategorySource.OPERATOR
            ):
                product.category_source = Product.CategorySource.IMPORTED
            product.category_id = category_id
        if data.description is not None:
            product.description = data.description
        if data.cost is not None:
            product.cost = data.cost
        if data.currency is not None:
            product.currency = data.currency
        if data.is_active is not None:
            product.is_active = data.is_active
        product.stock_tracked = _tracked(data, default=product.stock_tracked)

    def _add_images(self, images: list[tuple[Row, Product]], result: BatchResult):
        with_new_image = []
        for row, product in images:
            try:
                with transaction.atomic():
                    added = product_image_add(
                        product=product, raw=row.parsed.image.read_bytes()
                    )
            except (OSError, ValidationError) as exc:
                # The file changed after it was checked; the product itself is kept.
                message = " ".join(getattr(exc, "messages", [str(exc)]))
                result.rejects.append((row, f"image: {message}"))
                continue
            if added.created:
                result.created["images"] += 1
                with_new_image.append(product)
        return with_new_image


def _tracked(data: ProductRow, *, default: bool) -> bool:
    """Stock-tracked: as the file says, or once it gives a stock figure."""
    if data.stock_tracked is not None:
        return data.stock_tracked
    return True if data.stock is not None else default


def import_products(
    path: Path, *, images_dir: Path | None = None, options: ImportOptions | None = None
) -> ImportSummary:
    """Import products from a CSV file; images are relative to `images_dir`."""
    path = Path(path)
    if images_dir is not None and not Path(images_dir).is_dir():
        raise ImportFileError(f"The images folder {images_dir} does not exist.")
    importer = ProductImporter(
        images_dir=Path(images_dir) if images_dir else path.parent,
        source_name=path.name,
    )
    return run_import(path, importer, options)
