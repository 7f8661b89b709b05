"""Sales history per product and period, the input of the demand and price forecasts."""

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
    competitor_price = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True
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
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.period_start} {self.units}"

    @property
    def is_planned(self) -> bool:
        return self.units is None
