"""generate_demo_store: a deterministic synthetic shop written to the database.

The tiny store here (30 customers, 20 products, 30 days) still gets the full tree of
10 top-level and 40 leaf categories: the tree is the shop's structure, not a function
of its size, so some leaves are empty at this size.
"""

import io
import json
from datetime import date, timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Sum
from PIL import Image

from accounts.models import User
from catalog.demo.world import StoreSpec
from catalog.demo.writer import demo_store_delete, demo_store_generate
from catalog.models import Category, PriceChange, Product, ProductImage, StockMovement
from orders.models import Order, OrderLine
from recommender.models import BehaviourEvent
from tests.factories import OrderLineFactory, ProductFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TINY = ["--customers", "30", "--products", "20", "--days", "30"]


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate_demo_store", *TINY, *args, stdout=out)
    return out.getvalue()


def snapshot(start: date) -> dict:
    """Return the store's content with dates relative to the period's first day."""

    def day(moment) -> tuple[int, str]:
        local = moment.astimezone()
        return (local.date() - start).days, local.strftime("%H:%M:%S")

    events = BehaviourEvent.objects.select_related("customer", "product")
    return {
        "orders": [
            (o.number, o.customer.username, str(o.total), day(o.placed_at), o.country)
            for o in Order.objects.select_related("customer").order_by("number")
        ],
        "lines": list(
            OrderLine.objects.order_by("order__number", "line_number").values_list(
                "order__number", "line_number", "product__sku", "quantity", "unit_price"
            )
        ),
        "prices": [
            (p.product.sku, str(p.price), p.source, p.note, day(p.effective_at))
            for p in PriceChange.objects.select_related("product").order_by("id")
        ],
        "ledger": [
            (m.product.sku, m.kind, m.quantity, m.balance_after, m.reference)
            for m in StockMovement.objects.select_related("product").order_by("id")
        ],
        "events": [
            (e.kind, e.customer.username, e.product and e.product.sku, e.quantity)
            + (e.query, day(e.occurred_at))
            for e in events.order_by("id")
        ],
        "products": list(
            Product.objects.order_by("sku").values_list(
                "sku", "name", "price", "stock_on_hand", "is_active", "category__path"
            )
        ),
    }


def test_same_seed_gives_the_same_store_on_any_day():
    spec = StoreSpec(seed=11, customers=30, products=20, days=30)
    first = demo_store_generate(spec=spec, today=date(2026, 3, 1))
    before = snapshot(first.start_date)
    demo_store_delete()
    second = demo_store_generate(spec=spec, today=date(2026, 7, 19))
    assert second.end_date == date(2026, 7, 18)
    assert snapshot(second.start_date) == before
    assert before["orders"] and before["lines"] and before["events"]


def test_reset_with_another_seed_gives_another_store():
    generate("--seed", "1")
    first = snapshot(date(2000, 1, 1))
    generate("--seed", "2", "--reset")
    second = snapshot(date(2000, 1, 1))
    assert first["lines"] != second["lines"]
    assert first["products"] != second["products"]
    assert Order.objects.filter(number__startswith="D1-").count() == 0
    assert Order.objects.filter(number__startswith="D2-").exists()


def test_ledger_sums_to_on_hand_and_never_goes_negative():
    generate()
    for product in Product.objects.all():
        ledger = list(
            product.stock_movements.order_by("occurred_at", "id").values_list(
                "quantity", "balance_after"
            )
        )
        running = 0
        for quantity, balance in ledger:
            running += quantity
            assert balance == running >= 0, product.sku
        assert product.stock_on_hand == running >= 0
    sold = StockMovement.objects.filter(kind=StockMovement.Kind.SALE).aggregate(
        total=Sum("quantity")
    )["total"]
    assert -sold == OrderLine.objects.aggregate(total=Sum("quantity"))["total"]


def test_orders_are_completed_demo_orders_that_total_their_lines():
    output = generate("--seed", "5")
    assert "demo / demo-password" in output
    orders = Order.objects.prefetch_related("lines")
    assert orders.exists()
    for order in orders:
        assert order.number.startswith("D5-")
        assert (order.source, order.status) == (Order.Source.DEMO, "completed")
        assert order.total == sum(line.line_total for line in order.lines.all())
        assert order.customer.username.startswith(("demo-customer-", "demo"))


def test_category_tree_has_ten_tops_and_forty_leaves():
    generate()
    assert Category.objects.filter(parent__isnull=True).count() == 10
    leaves = Category.objects.filter(children__isnull=True)
    assert leaves.count() == 40
    assert all(leaf.depth == 1 and " > " in leaf.path for leaf in leaves)
    assert not Product.objects.filter(category__children__isnull=False).exists()


def test_every_product_has_a_valid_picture():
    generate()
    for product in Product.objects.prefetch_related("images"):
        (image,) = product.images.all()
        with image.image.open("rb") as stored, Image.open(stored) as picture:
            assert picture.format == image.format == "JPEG"
            assert picture.size == (image.width, image.height) == (128, 128)
        assert image.image.size == image.size_bytes
        assert image.thumbnail.name


def test_truth_json_holds_elasticities_recipes_and_tastes(var_dir):
    generate("--seed", "9")
    truth = json.loads((var_dir / "demo_truth.json").read_text())
    assert truth["seed"] == 9
    assert truth["sizes"] == {"customers": 30, "products": 20, "days": 30}
    assert len(truth["categories"]) == 40
    for category in truth["categories"]:
        assert category["elasticity"] < 0
        assert {"shape", "palette", "texture"} <= category["image_recipe"].keys()
    usernames = set(User.objects.values_list("username", flat=True))
    assert {c["username"] for c in truth["customers"]} <= usernames
    assert {p["sku"] for p in truth["products"]} == set(
        Product.objects.values_list("sku", flat=True)
    )
    assert "transition_matrix" in truth and "stockouts" in truth


def test_a_second_run_is_refused_unless_reset_and_if_empty_skips():
    generate()
    orders = Order.objects.count()
    with pytest.raises(CommandError, match="--reset"):
        generate()
    assert "nothing to do" in generate("--if-empty")
    assert Order.objects.count() == orders


def test_events_link_to_real_products_and_orders():
    generate()
    events = BehaviourEvent.objects.all()
    assert events.filter(kind="view").exists() and events.filter(kind="search").exists()
    assert not events.exclude(kind="search").filter(product__isnull=True).exists()
    assert not events.filter(kind="search", query="").exists()
    purchases = events.filter(kind="purchase")
    assert purchases.count() == OrderLine.objects.count()
    for event in purchases.select_related("order"):
        line = event.order.lines.get(product_id=event.product_id)
        assert (line.quantity, event.order.customer_id) == (
            event.quantity,
            event.customer_id,
        )


def test_showcase_customer_can_sign_in_and_others_cannot():
    generate()
    assert authenticate(username="demo", password="demo-password") is not None
    other = User.objects.get(username="demo-customer-00001")
    assert not other.has_usable_password()
    assert other.profile.country


def test_reset_keeps_the_shops_own_data():
    staff = StaffFactory()
    own = ProductFactory(stock=3)
    generate()
    generate("--reset", "--seed", "8")
    assert Product.objects.filter(pk=own.pk).exists()
    assert User.objects.filter(pk=staff.pk).exists()
    assert own.stock_movements.count() == 1


def test_reset_refuses_when_real_orders_use_demo_products():
    generate()
    OrderLineFactory(product=Product.objects.get(sku="DEMO-00001"))
    with pytest.raises(CommandError, match="not demo orders"):
        generate("--reset")
    assert Product.objects.filter(sku="DEMO-00001").exists()


def test_bad_sizes_are_refused():
    with pytest.raises(CommandError, match="--products"):
        call_command("generate_demo_store", "--products", "0", stdout=io.StringIO())


def test_period_ends_yesterday():
    generate()
    latest = Order.objects.latest("placed_at").placed_at.astimezone().date()
    yesterday = date.today() - timedelta(days=1)
    assert latest <= yesterday
    assert ProductImage.objects.count() == Product.objects.count() == 20


def test_new_arrivals_reach_the_shop_without_a_category(var_dir):
    out = io.StringIO()
    args = ["--customers", "30", "--products", "120", "--days", "90", "--no-images"]
    call_command("generate_demo_store", *args, stdout=out)
    truth = json.loads((var_dir / "demo_truth.json").read_text())
    new = {p["sku"] for p in truth["products"] if p["new_arrival_without_category"]}
    assert new, "the store should hold some new arrivals"
    uncategorised = Product.objects.filter(category__isnull=True)
    assert set(uncategorised.values_list("sku", flat=True)) == new
    assert set(uncategorised.values_list("category_source", flat=True)) == {"none"}
    launched = {p["sku"]: p["launch_day"] for p in truth["products"]}
    assert min(launched[sku] for sku in new) >= 90 - 60
    filed = Product.objects.exclude(sku__in=new)
    assert set(filed.values_list("category_source", flat=True)) == {"operator"}
    leaves = Category.objects.filter(children__isnull=True)
    assert leaves.filter(products__isnull=False).distinct().count() == leaves.count()
