"""factory_boy factories for the shop's models."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import CustomerProfile, User
from catalog.models import Category, PriceChange, Product, StockMovement
from forecasting.models import SalesRecord
from orders.models import Order, OrderLine
from recommender.models import BehaviourEvent


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"customer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")
    profile = factory.RelatedFactory(
        "tests.factories.CustomerProfileFactory", factory_related_name="user"
    )


class StaffFactory(CustomerFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True


class CustomerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    user = factory.SubFactory(CustomerFactory, profile=None)
    country = "United Kingdom"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("19.99")
    cost = Decimal("8.00")
    currency = "EUR"
    stock_tracked = True

    @factory.post_generation
    def stock(product, create, extracted, **kwargs):
        """`ProductFactory(stock=10)` restocks through the ledger."""
        if create and extracted:
            from catalog.services import stock_record_movement

            stock_record_movement(
                product=product, kind=StockMovement.Kind.RESTOCK, quantity=extracted
            )


class PriceChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceChange

    product = factory.SubFactory(ProductFactory)
    price = Decimal("17.99")
    source = PriceChange.Source.MANUAL
    effective_at = factory.LazyFunction(timezone.now)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"ORD-{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    status = Order.Status.PAID
    placed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    currency = "EUR"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = Decimal("19.99")


class BehaviourEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BehaviourEvent

    kind = BehaviourEvent.Kind.VIEW
    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    occurred_at = factory.LazyFunction(timezone.now)


class SalesRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesRecord

    product = factory.SubFactory(ProductFactory)
    period_start = factory.Sequence(lambda n: timezone.now().date() - timedelta(days=n))
    frequency = SalesRecord.Frequency.DAY
    units = Decimal("3")
    price = Decimal("19.99")
