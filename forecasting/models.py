"""Sales history per product and period, the input of the demand and price forecasts."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Product


class SalesRecord(models.Model):
    """Units sold and prices of one product in one period (a day or a week).

    A record with empty `units` is a planned price or promotion for a future period.
    `promo` is the share of the period (or of stores) on promotion, 0 to 1.
    """

    class Frequency(models.TextChoices):
        DAY = "D", "Day"
        WEEK = "W", "Week"

    class Source(models.TextChoices):
        IMPORT = "import", "Import"
        ORDERS = "orders", "Orders"

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="sales_records"
    )
    period_start = models.DateField()
    frequency = models.CharField(max_length=1, choices=Frequency.choices)
    units = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    base_price = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True
    )
    promo = models.FloatField(default=0.0)
    stockout = models.BooleanField(
        default=False,
        help_text="The product was out of stock in the period: units are censored "
        "demand, not zero demand.",
    )
    revenue = models.DecimalField(
        max_digits=16, decimal_places=4, null=True, blank=True
    )
    competitor_price = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True
    )
    cost = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Unit cost in the period, where imported: price forecasts stay at "
        "or above it, and the what-if margin uses it.",
    )
    source = models.CharField(
        max_length=8, choices=Source.choices, default=Source.IMPORT
    )

    class Meta:
        ordering = ["product", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "frequency", "period_start"],
                name="sales_record_unique_period",
            ),
            models.CheckConstraint(
                condition=Q(units__isnull=True) | Q(units__gte=0),
                name="sales_record_units_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(promo__gte=0) & Q(promo__lte=1),
                name="sales_record_promo_share",
            ),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0),
                name="sales_record_cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.period_start} {self.units}"

    @property
    def is_planned(self) -> bool:
        return self.units is None


class PurchaseOrder(models.Model):
    """Incoming stock: units of one product ordered from a supplier, due on a date.

    Open orders count as incoming in the projected stock; receiving one records a
    restock movement in the stock ledger.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    quantity = models.PositiveIntegerField()
    ordered_on = models.DateField()
    expected_on = models.DateField()
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.OPEN)
    supplier_reference = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expected_on", "pk"]
        indexes = [models.Index(fields=["product", "status", "expected_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="purchase_order_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(expected_on__gte=models.F("ordered_on")),
                name="purchase_order_expected_after_ordered",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"PO {self.pk}: {self.quantity} × {self.product_id} due {self.expected_on}"
        )


class ForecastPoint(models.Model):
    """One served quantile forecast of one product for one future period.

    Rows are written in bulk by batch inference of the demand or price kind; readers
    see only the active batch of each kind. Foreign keys are not enforced by the
    database, as for the served recommendation lists.
    """

    class Kind(models.TextChoices):
        DEMAND = "demand", "Demand (units)"
        PRICE = "price", "Price"

    batch = models.ForeignKey(
        "mlops.ServedBatch",
        on_delete=models.CASCADE,
        related_name="forecast_points",
        db_constraint=False,
        db_index=False,  # the unique (batch, product, kind, period_start) covers it
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    kind = models.CharField(max_length=6, choices=Kind.choices)
    frequency = models.CharField(max_length=1, choices=SalesRecord.Frequency.choices)
    period_start = models.DateField()
    p10 = models.FloatField()
    p50 = models.FloatField()
    p90 = models.FloatField()

    class Meta:
        ordering = ["batch", "product", "kind", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "product", "kind", "period_start"],
                name="forecast_point_unique_period",
            ),
            models.CheckConstraint(
                condition=Q(p10__lte=models.F("p50")) & Q(p50__lte=models.F("p90")),
                name="forecast_point_quantiles_ordered",
            ),
        ]
        indexes = [models.Index(fields=["product", "batch", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.product_id} {self.period_start} p50={self.p50:g}"


class ForecastSummary(models.Model):
    """What one served demand forecast of a product says, in a sentence, and why.

    `breakdown` holds the units over the horizon attributed to each driver, e.g.
    `{"base": 40.0, "price": -3.5, "promotion": 6.0, "season": 2.1, "trend": -1.0}`,
    measured by re-forecasting with that driver held at its usual value.
    """

    batch = models.ForeignKey(
        "mlops.ServedBatch",
        on_delete=models.CASCADE,
        related_name="forecast_summaries",
        db_constraint=False,
        db_index=False,  # the unique (batch, product) index covers it
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    frequency = models.CharField(max_length=1, choices=SalesRecord.Frequency.choices)
    horizon_units_p10 = models.FloatField()
    horizon_units_p50 = models.FloatField()
    horizon_units_p90 = models.FloatField()
    elasticity = models.FloatField(null=True, blank=True)
    elasticity_level = models.CharField(
        max_length=8,
        blank=True,
        help_text="'product', or 'category' where the product's own data is thin.",
    )
    explanation = models.TextField(blank=True)
    breakdown = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["batch", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "product"], name="forecast_summary_unique_product"
            ),
        ]
        indexes = [models.Index(fields=["product", "batch"])]

    def __str__(self) -> str:
        return f"forecast of {self.product_id} in batch {self.batch_id}"
