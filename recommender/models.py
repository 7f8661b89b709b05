"""Customer behaviour: the events the recommender learns from."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Product


class BehaviourEvent(models.Model):
    """Something a visitor did: viewed or carted a product, bought it, or searched.

    Anonymous visitors are identified by `session_key` until they sign in.
    """

    class Kind(models.TextChoices):
        VIEW = "view", "View"
        ADD_TO_CART = "add_to_cart", "Add to cart"
        PURCHASE = "purchase", "Purchase"
        SEARCH = "search", "Search"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="behaviour_events",
    )
    session_key = models.CharField(max_length=64, blank=True)
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="behaviour_events",
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    quantity = models.PositiveIntegerField(default=1)
    query = models.CharField(max_length=255, blank=True, help_text="Search text.")
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "occurred_at"], name="event_customer_sequence"
            ),
            models.Index(
                fields=["product", "occurred_at"], name="event_product_series"
            ),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time"),
            models.Index(fields=["occurred_at"], name="event_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="search") | Q(product__isnull=False),
                name="event_product_unless_search",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Recommendation(models.Model):
    """One entry of a customer's served "for you" list, from one served batch.

    Rows are written in bulk by batch inference only. The foreign keys are not
    enforced by the database (Django still cascades deletes): checking three keys
    on millions of rows at every chunk's commit doubled the write time.
    """

    batch = models.ForeignKey(
        "mlops.ServedBatch",
        on_delete=models.CASCADE,
        related_name="recommendations",
        db_constraint=False,
        db_index=False,  # the unique (batch, customer, rank) index covers it
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="recommendations",
        db_constraint=False,
        db_index=False,  # the (customer, batch, rank) index covers it
    )
    rank = models.PositiveSmallIntegerField()
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    score = models.FloatField()
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["batch", "customer", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "customer", "rank"], name="recommendation_unique_rank"
            ),
        ]
        indexes = [models.Index(fields=["customer", "batch", "rank"])]

    def __str__(self) -> str:
        return f"#{self.rank} {self.product_id} for {self.customer_id}"


class ProductRecommendation(models.Model):
    """One entry of a product's served "similar" or "bought together" list."""

    class List(models.TextChoices):
        SIMILAR = "similar", "Similar products"
        BOUGHT_TOGETHER = "bought_together", "Frequently bought together"

    batch = models.ForeignKey(
        "mlops.ServedBatch",
        on_delete=models.CASCADE,
        related_name="product_recommendations",
        db_constraint=False,
        db_index=False,  # the unique (batch, product, list, rank) index covers it
    )
    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="served_lists",
        db_constraint=False,
        db_index=False,  # the (product, list, batch, rank) index covers it
    )
    list = models.CharField(max_length=16, choices=List.choices)
    rank = models.PositiveSmallIntegerField()
    recommended = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    score = models.FloatField()
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["batch", "product", "list", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "product", "list", "rank"],
                name="product_recommendation_unique_rank",
            ),
        ]
        indexes = [models.Index(fields=["product", "list", "batch", "rank"])]

    def __str__(self) -> str:
        return f"{self.list} #{self.rank} {self.recommended_id} for {self.product_id}"


class RecommendationRule(models.Model):
    """An operator's rule applied when lists are served: pin a product, or exclude one
    product or a whole category (with its subcategories)."""

    class Action(models.TextChoices):
        PIN = "pin", "Pin to the top"
        EXCLUDE = "exclude", "Exclude"

    action = models.CharField(max_length=8, choices=Action.choices)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    position = models.PositiveSmallIntegerField(
        default=1, help_text="For pins: the rank the product takes (1 = first)."
    )
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["action", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False) & Q(category__isnull=True))
                | (Q(product__isnull=True) & Q(category__isnull=False)),
                name="rule_product_xor_category",
            ),
            models.CheckConstraint(
                condition=~Q(action="pin") | Q(product__isnull=False),
                name="rule_pin_needs_product",
            ),
            models.CheckConstraint(
                condition=Q(position__gte=1) & Q(position__lte=20),
                name="rule_position_range",
            ),
        ]

    def __str__(self) -> str:
        target = self.product or self.category
        return f"{self.get_action_display()} {target}"


class CustomerSegment(models.Model):
    """A customer's behaviour profile from one served `segments` batch: RFM scores and
    named segment, behaviour cluster, churn risk and category affinities."""

    class Rfm(models.TextChoices):
        CHAMPIONS = "champions", "Champions"
        LOYAL = "loyal", "Loyal"
        POTENTIAL = "potential", "Potential loyalists"
        NEW = "new", "New"
        AT_RISK = "at_risk", "At risk"
        CANT_LOSE = "cant_lose", "Can't lose them"
        HIBERNATING = "hibernating", "Hibernating"
        LOST = "lost", "Lost"

    batch = models.ForeignKey(
        "mlops.ServedBatch",
        on_delete=models.CASCADE,
        related_name="customer_segments",
        db_constraint=False,
        db_index=False,  # the unique (batch, customer) index covers it
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="segments",
        db_constraint=False,
        db_index=False,  # the (customer, batch) index covers it
    )
    recency_days = models.PositiveIntegerField(null=True, blank=True)
    frequency = models.PositiveIntegerField(default=0)
    monetary = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    r_score = models.PositiveSmallIntegerField(default=0)
    f_score = models.PositiveSmallIntegerField(default=0)
    m_score = models.PositiveSmallIntegerField(default=0)
    rfm_segment = models.CharField(max_length=12, choices=Rfm.choices)
    cluster = models.SmallIntegerField(default=-1)
    cluster_label = models.CharField(max_length=120, blank=True)
    churn_risk = models.FloatField(null=True, blank=True, help_text="0 to 1.")
    price_band = models.CharField(max_length=16, blank=True)
    category_affinities = models.JSONField(
        default=list, blank=True, help_text="Top categories: [{category, name, share}]."
    )

    class Meta:
        ordering = ["batch", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "customer"], name="customer_segment_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "batch"]),
            models.Index(fields=["batch", "rfm_segment"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.get_rfm_segment_display()}"


class SegmentSnapshot(models.Model):
    """Segment sizes, revenue and movement between segments when a batch was served,
    kept after the batch's rows are gone, for "movement over time"."""

    batch = models.OneToOneField(
        "mlops.ServedBatch", on_delete=models.CASCADE, related_name="segment_snapshot"
    )
    taken_at = models.DateTimeField()
    sizes = models.JSONField(default=dict, help_text="{segment: customers}")
    revenue = models.JSONField(default=dict, help_text="{segment: revenue}")
    transitions = models.JSONField(
        default=dict,
        help_text="{from segment: {to segment: customers}} since the last.",
    )

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"Segments at {self.taken_at:%Y-%m-%d %H:%M}"


class ErasedCustomer(models.Model):
    """Tombstone of a customer erased on request: keyed hashes only, so that no later
    import or training export brings them back."""

    pseudonym = models.CharField(
        max_length=64, unique=True, help_text="Keyed hash of the customer's id."
    )
    external_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    erased_at = models.DateTimeField()
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"Erased customer {self.pseudonym[:12]}…"
