"""The catalogue: category tree, products, images, price history and stock ledger."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


def default_currency() -> str:
    return settings.SHOP_CURRENCY


CATEGORY_PATH_SEPARATOR = " > "


class Category(models.Model):
    """A node of the category tree; `path` is the full name, e.g. `Home > Kitchen > Mugs`."""

    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=500, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    default_lead_time_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Days from ordering stock to having it; empty: the parent's or the shop's.",
    )
    default_service_level = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(Decimal("0.5")),
            MaxValueValidator(Decimal("0.999")),
        ],
        help_text="Target probability of not running out; empty: the parent's or the shop's.",
    )

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_unique_name_per_parent"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="category_unique_root_name",
            ),
            models.CheckConstraint(
                condition=Q(default_service_level__isnull=True)
                | Q(
                    default_service_level__gte=Decimal("0.5"),
                    default_service_level__lt=1,
                ),
                name="category_service_level_range",
            ),
        ]

    def __str__(self) -> str:
        return self.path

    def save(self, *args, **kwargs):
        # The materialised path is derived data; keeping it here keeps it always true.
        if self.parent_id:
            parent = self.parent
            self.path = f"{parent.path}{CATEGORY_PATH_SEPARATOR}{self.name}"
            self.depth = parent.depth + 1
        else:
            self.path = self.name
            self.depth = 0
        super().save(*args, **kwargs)

    @property
    def is_leaf(self) -> bool:
        return not self.children.exists()


class Product(models.Model):
    """Something the shop sells, identified by its SKU.

    `stock_on_hand` is the running sum of the product's stock ledger, kept by
    `catalog.services.stock_record_movement` and never negative (a database constraint).
    A product that is not stock-tracked is never out of stock.

    `category_source` says who set `category`. A category set by a person, in the
    admin, the review queue, the API or an import file (`operator`, `imported`), is
    never overwritten by the model and is what the model learns from; rows written
    without saying (demo store, scripts) count as the operator's. The `auto_category*`
    fields hold what the image model last said, written by `catalog.categorisation`.
    """

    class CategorySource(models.TextChoices):
        OPERATOR = "operator", "Set or confirmed by an operator"
        AUTOMATIC = "automatic", "Assigned by the model"
        IMPORTED = "imported", "From an import file"
        NONE = "none", "No category"

    class AutoCategoryStatus(models.TextChoices):
        NONE = "none", "Not classified"
        AUTO_ASSIGNED = "auto_assigned", "Assigned automatically"
        NEEDS_REVIEW = "needs_review", "Needs review"
        ACCEPTED = "accepted", "Accepted by an operator"
        OVERRIDDEN = "overridden", "Overridden by an operator"

    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="products",
    )
    category_source = models.CharField(
        max_length=10,
        choices=CategorySource.choices,
        default=CategorySource.OPERATOR,
        help_text="Who set the category; the model never overwrites a person's.",
    )
    auto_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The model's top suggestion.",
    )
    auto_category_confidence = models.FloatField(null=True, blank=True, editable=False)
    auto_category_status = models.CharField(
        max_length=16,
        choices=AutoCategoryStatus.choices,
        default=AutoCategoryStatus.NONE,
        editable=False,
    )
    auto_category_version = models.ForeignKey(
        "mlops.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    auto_category_suggestions = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text='Top three: [{"category": id, "confidence": 0.93}, …].',
    )
    auto_category_reason = models.CharField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="Why the model's category was not assigned automatically.",
    )
    auto_categorised_at = models.DateTimeField(null=True, blank=True, editable=False)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default=default_currency)
    is_active = models.BooleanField(default=True)
    stock_tracked = models.BooleanField(
        default=True,
        help_text="Untracked products (e.g. first seen in an order import) never run out.",
    )
    stock_on_hand = models.IntegerField(default=0, editable=False)
    lead_time_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: the category's default."
    )
    service_level = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(Decimal("0.5")),
            MaxValueValidator(Decimal("0.999")),
        ],
        help_text="Target probability of not running out; empty: the category's default.",
    )
    launched_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        indexes = [
            models.Index(fields=["category", "is_active"]),
            models.Index(fields=["price"]),
            models.Index(fields=["name"]),
            # The review queue: by status, most confident first, or by suggestion.
            models.Index(
                fields=["auto_category_status", "-auto_category_confidence"],
                name="product_review_queue_idx",
            ),
            models.Index(
                fields=["auto_category_status", "auto_category"],
                name="product_review_suggested_idx",
            ),
        ]
        permissions = [("review_category", "Can review automatic categories")]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_on_hand__gte=0), name="product_stock_never_negative"
            ),
            models.CheckConstraint(
                condition=Q(auto_category_confidence__isnull=True)
                | Q(auto_category_confidence__gte=0, auto_category_confidence__lte=1),
                name="product_auto_category_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0),
                name="product_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(service_level__isnull=True)
                | Q(service_level__gte=Decimal("0.5"), service_level__lt=1),
                name="product_service_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def is_out_of_stock(self) -> bool:
        return self.stock_tracked and self.stock_on_hand <= 0

    @property
    def category_set_by_person(self) -> bool:
        """Whether the category came from a person, so the model must keep it."""
        return self.category_id is not None and self.category_source in (
            self.CategorySource.OPERATOR,
            self.CategorySource.IMPORTED,
        )


class CategoryReview(Product):
    """The review queue of automatic categories, as its own admin list (no table)."""

    class Meta:
        proxy = True
        verbose_name = "category to review"
        verbose_name_plural = "category review queue"
        default_permissions: list[str] = []


def product_image_path(instance: "ProductImage", filename: str) -> str:
    return f"products/{instance.product.sku}/{instance.checksum[:16]}.{filename.rsplit('.', 1)[-1]}"


def product_thumbnail_path(instance: "ProductImage", filename: str) -> str:
    return f"products/{instance.product.sku}/thumbs/{instance.checksum[:16]}.jpg"


class ProductImage(models.Model):
    """A validated picture of a product, with its dimensions, checksum and thumbnail."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images"
    )
    image = models.ImageField(upload_to=product_image_path, max_length=300)
    thumbnail = models.ImageField(
        upload_to=product_thumbnail_path, max_length=300, blank=True
    )
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    format = models.CharField(max_length=10, editable=False)
    size_bytes = models.PositiveIntegerField(editable=False)
    checksum = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 of the stored file."
    )
    position = models.PositiveSmallIntegerField(default=0)
    alt_text = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "checksum"], name="product_image_unique_checksum"
            ),
        ]

    def __str__(self) -> str:
        return f"Image {self.position} of {self.product.sku}"


class CategoryDecision(models.Model):
    """One decision about a product's category, by the model or by an operator.

    `user` is empty for the model's own decisions (auto-assigned, queued). What the
    model said at the time (`suggestions`, `confidence`, `model_version`) is kept with
    it, so that decisions can be audited and corrections become training data.
    """

    class Action(models.TextChoices):
        AUTO_ASSIGNED = "auto_assigned", "Assigned automatically"
        QUEUED = "queued", "Queued for review"
        ACCEPTED = "accepted", "Accepted"
        OVERRIDDEN = "overridden", "Overridden"

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="category_decisions"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The category chosen; empty when queued.",
    )
    suggestions = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    model_version = models.ForeignKey(
        "mlops.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [
            models.Index(fields=["product", "decided_at"]),
            models.Index(fields=["action", "decided_at"]),
        ]

    def __str__(self) -> str:
        who = "model" if self.user_id is None else "operator"
        return f"{self.product_id} {self.action} by {who}"


class ProductImageEmbedding(models.Model):
    """A product's image embedding from an image model: unit float32 vector bytes.

    Written by the image kind's batch inference and by the classification task;
    one per product, replaced when its picture is read again.
    """

    product = models.OneToOneField(
        Product,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="image_embedding",
    )
    model_version = models.ForeignKey(
        "mlops.ModelVersion", on_delete=models.CASCADE, related_name="+"
    )
    vector = models.BinaryField(help_text="float32, little-endian, L2-normalised.")
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["model_version"])]

    def __str__(self) -> str:
        return f"Image embedding of {self.product_id}"


class VisuallySimilarProduct(models.Model):
    """One entry of a product's "visually similar" list: image-embedding cosine.

    Rows of a product are replaced together; inactive products are left out when
    the list is served.
    """

    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="visually_similar",
        db_index=False,  # the unique (product, rank) index covers it
    )
    rank = models.PositiveSmallIntegerField()
    similar = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(help_text="Cosine of the two image embeddings.")
    model_version = models.ForeignKey(
        "mlops.ModelVersion", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        ordering = ["product", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "rank"], name="visually_similar_unique_rank"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.similar_id} looks like {self.product_id}"


class PriceChange(models.Model):
    """One entry of a product's price history.

    Competitor prices are recorded here too (source `competitor`) but do not change the
    product's own price.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        IMPORT = "import", "Import"
        PROMOTION = "promotion", "Promotion"
        COMPETITOR = "competitor", "Competitor"

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="price_changes"
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=default_currency)
    source = models.CharField(max_length=16, choices=Source.choices)
    effective_at = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "-effective_at"]
        indexes = [models.Index(fields=["product", "effective_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0), name="price_change_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} {self.price} {self.currency} ({self.source})"


class StockMovement(models.Model):
    """One entry of the stock ledger; `quantity` is signed, `balance_after` the new on-hand.

    Rows are written only by `catalog.services.stock_record_movement` and never edited.
    """

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        RESTOCK = "restock", "Restock"
        ADJUSTMENT = "adjustment", "Adjustment"
        RETURN = "return", "Return"

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="stock_movements"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity = models.IntegerField()
    balance_after = models.IntegerField()
    reference = models.CharField(
        max_length=100, blank=True, help_text="Order number, PO…"
    )
    note = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["product", "-occurred_at", "-id"]
        indexes = [models.Index(fields=["product", "occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="stock_balance_never_negative"
            ),
            models.CheckConstraint(
                condition=~Q(quantity=0), name="stock_movement_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["sale"], quantity__lt=0)
                | Q(kind__in=["restock", "return"], quantity__gt=0)
                | Q(kind="adjustment"),
                name="stock_movement_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} {self.kind} {self.quantity:+d}"
