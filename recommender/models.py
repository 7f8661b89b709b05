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
