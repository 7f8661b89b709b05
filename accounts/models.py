"""Users of the shop: customers (shop accounts or imported) and staff."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class User(AbstractUser):
    """A person known to the shop: a staff member or a customer.

    Imported customers keep the id they had in the source system (`external_id`) and
    have no usable password until they set one.
    """

    external_id = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The customer's id in the system they were imported from.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        indexes = [models.Index(fields=["date_joined"])]

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username

    @property
    def is_customer(self) -> bool:
        return not self.is_staff


class CustomerProfile(models.Model):
    """What the shop knows about a customer beyond their login."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="profile", primary_key=True
    )
    country = models.CharField(max_length=64, blank=True)
    city = models.CharField(max_length=128, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    marketing_opt_in = models.BooleanField(default=False)
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Imported demographics or other attributes, as key/value pairs.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["country"])]

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class CustomerManager(UserManager):
    """Only customers: accounts without staff status."""

    def get_queryset(self):
        return super().get_queryset().filter(is_staff=False)


class Customer(User):
    """A customer, as store operators see one (the staff accounts stay under users)."""

    objects = CustomerManager()

    class Meta:
        proxy = True
        verbose_name = "customer"
        verbose_name_plural = "customers"
