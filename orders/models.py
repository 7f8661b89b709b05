"""Orders and their lines, placed in the shop or imported from another system."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Product, default_currency


class Order(models.Model):
    """A customer's order (or a return of goods, for imported cancellations).

    `customer` is empty for guest orders. `number` is the order id as the shop or the
    imported file knows it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        RETURN = "return", "Return"

    class Source(models.TextChoices):
        SHOP = "shop", "Shop"
        IMPORT = "import", "Import"
        DEMO = "demo", "Demo store"

    number = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SALE)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.SHOP)
    placed_at = models.DateTimeField()
    currency = models.CharField(max_length=3, default=default_currency)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    country = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "placed_at"]),
            models.Index(fields=["placed_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    @property
    def is_guest(self) -> bool:
        return self.customer_id is None


class OrderLine(models.Model):
    """One product on an order; `line_number` keeps imports idempotent."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["order", "line_number"]
        indexes = [models.Index(fields=["product", "order"])]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "line_number"], name="order_line_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_line_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id} on {self.order_id}"

    @property
    def line_total(self):
        return self.quantity * self.unit_price
