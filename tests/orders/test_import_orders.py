"""import_orders: the generic, Online Retail and Complete Journey formats."""

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest
from django.core.management.base import CommandError

from accounts.models import User
from catalog.models import Product, StockMovement
from ecomsite.importing import ImportFileError
from orders.importers import import_orders
from orders.models import Order, OrderLine
from tests.factories import CustomerFactory, ProductFactory
from tests.import_support import rejects_of, run_import, write_rows

write_csv = write_rows
run = partial(run_import, "import_orders")
pytestmark = pytest.mark.django_db

GENERIC = ["order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_at"]
RETAIL = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
]  # fmt: skip
JOURNEY = [
    "household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value",
    "retail_disc", "coupon_disc", "coupon_match_disc", "week", "transaction_timestamp",
]  # fmt: skip


def test_generic_import_creates_orders_customers_and_products(tmp_path, settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    mug = ProductFactory(sku="MUG", stock=5)
    path = write_csv(
        tmp_path / "orders.csv",
        GENERIC,
        [
            ["A1", "C-7", "MUG", "2", "3.50", "2024-03-01T14:30:00"],
            ["A1", "C-7", "TEA", "1", "4.25", "2024-03-01T14:30:00"],
            ["A2", "", "TEA", "3", "4.00", "2024-03-02T09:00:00+00:00"],
        ],
    )

    output = run(path)

    a1 = Order.objects.get(number="A1")
    assert a1.customer.external_id == "C-7"
    assert not a1.customer.has_usable_password()
    assert a1.customer.profile is not None
    assert (a1.status, a1.source, a1.kind) == ("completed", "import", "sale")
    assert a1.total == Decimal("11.25")
    assert a1.placed_at == datetime(2024, 3, 1, 13, 30, tzinfo=UTC)  # CET = UTC+1
    assert list(a1.lines.values_list("line_number", "product__sku", "quantity")) == [
        (1, "MUG", 2),
        (2, "TEA", 1),
    ]
    a2 = Order.objects.get(number="A2")
    assert a2.is_guest and a2.total == Decimal("12.00")
    tea = Product.objects.get(sku="TEA")
    assert (tea.name, tea.price, tea.stock_tracked) == ("TEA", Decimal("4.25"), False)
    mug.refresh_from_db()
    assert mug.stock_on_hand == 5  # history does not move stock
    assert StockMovement.objects.filter(kind="sale").count() == 0
    assert "imported (new order lines): 3" in output
    assert "customers created: 1" in output
    assert "products created: 1" in output
    assert "orders created: 2" in output


def test_known_customers_and_products_are_reused(tmp_path):
    known = CustomerFactory(external_id="C-1")
    ProductFactory(sku="MUG")
    path = write_csv(
        tmp_path / "o.csv", GENERIC, [["A1", "C-1", "MUG", "1", "3", "2024-01-01"]]
    )

    output = run(path)

    assert Order.objects.get().customer == known
    assert User.objects.count() == 1 and Product.objects.count() == 1
    assert "customers created" not in output and "products created" not in output


def test_running_the_same_file_twice_adds_nothing(tmp_path):
    rows = [[f"A{n % 3}", f"C{n % 2}", f"S{n % 4}", "1", "2.00", "2024-01-01"]
            for n in range(10)]  # fmt: skip
    path = write_csv(tmp_path / "o.csv", GENERIC, rows)
    run(path, "--batch-size", "4")
    counts = (Order.objects.count(), OrderLine.objects.count(), User.objects.count())

    output = run(path, "--batch-size", "4")

    assert (Order.objects.count(), OrderLine.objects.count(), User.objects.count()) == (
        counts
    )
    assert "imported (new order lines): 0" in output
    assert "skipped as already present: 10" in output
    assert "Nothing new" in output
    assert sorted(Order.objects.values_list("total", flat=True)) == [
        Decimal("6.00"), Decimal("6.00"), Decimal("8.00"),
    ]  # fmt: skip


@pytest.mark.postgres
def test_rerun_after_a_partial_import_completes_without_duplicates(tmp_path):
    rows = [["A1", "C1", f"S{n}", "1", "1.50", "2024-01-01"] for n in range(5)]
    partial = write_csv(tmp_path / "partial.csv", GENERIC, rows[:3])
    full = write_csv(tmp_path / "full.csv", GENERIC, rows)
    run(partial)

    output = run(full, "--batch-size", "2")

    order = Order.objects.get()
    assert list(order.lines.values_list("line_number", flat=True)) == [1, 2, 3, 4, 5]
    assert order.total == Decimal("7.50")
    assert "imported (new order lines): 2" in output
    assert "skipped as already present: 3" in output


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (["", "C1", "MUG", "1", "2", "2024-01-01"], "order_id: is empty"),
        (["A1", "C1", "", "1", "2", "2024-01-01"], "sku: is empty"),
        (
            ["A1", "C1", "MUG", "two", "2", "2024-01-01"],
            "quantity: 'two' is not a whole",
        ),
        (["A1", "C1", "MUG", "-1", "2", "2024-01-01"], "quantity: -1 is below 1"),
        (["A1", "C1", "MUG", "0", "2", "2024-01-01"], "quantity: 0 is below 1"),
        (["A1", "C1", "MUG", "1", "2,50", "2024-01-01"], "unit_price: '2,50' is not a"),
        (["A1", "C1", "MUG", "1", "-2", "2024-01-01"], "unit_price: -2 is below 0"),
        (
            ["A1", "C1", "MUG", "1", "2", "01/02/2024"],
            "ordered_at: '01/02/2024' is not",
        ),
        (["A1", "C1", "MUG", "1", "2", ""], "ordered_at: is empty; expected an ISO"),
    ],
)
def test_generic_bad_rows_are_rejected_with_line_and_field(tmp_path, row, error):
    good = ["A0", "C1", "MUG", "1", "2", "2024-01-01"]
    path = write_csv(tmp_path / "o.csv", GENERIC, [good, row])

    output = run(path)

    [(line, message)] = rejects_of(path)
    assert line == "3" and message.startswith(error)
    assert "rejected: 1" in output
    assert OrderLine.objects.count() == 1


def test_header_without_required_columns_fails_naming_them(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["order_id", "sku", "quantity"], [])

    with pytest.raises(CommandError, match="customer_id, unit_price, ordered_at"):
        run(path)


def test_missing_file_and_unknown_format_fail(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "nope.csv")
    with pytest.raises(CommandError, match="invalid choice"):
        run(tmp_path / "nope.csv", "--format", "excel")
    with pytest.raises(ImportFileError, match="Unknown format 'excel'"):
        import_orders(tmp_path / "nope.csv", file_format="excel")


def test_orders_split_across_batches_get_full_totals(tmp_path):
    rows = [["A1", "C1", f"S{n}", "2", "1.25", "2024-01-01"] for n in range(5)]
    path = write_csv(tmp_path / "o.csv", GENERIC, rows)

    run(path, "--batch-size", "2")

    order = Order.objects.get()
    assert order.lines.count() == 5 and order.total == Decimal("12.50")


def test_online_retail_returns_guests_countries_and_non_products(tmp_path):
    path = write_csv(
        tmp_path / "retail.csv",
        RETAIL,
        [
            [
                "536365",
                "85123A",
                "WHITE HEART",
                "6",
                "12/1/2010 8:26",
                "2.55",
                "17850.0",
                "United Kingdom",
            ],
            [
                "536365",
                "POST",
                "POSTAGE",
                "1",
                "12/1/2010 8:26",
                "18",
                "17850.0",
                "United Kingdom",
            ],
            [
                "C536379",
                "85123A",
                "WHITE HEART",
                "-2",
                "12/1/2010 9:41",
                "2.55",
                "17850.0",
                "United Kingdom",
            ],
            [
                "536400",
                "22633",
                "HAND WARMER",
                "3",
                "12/1/2010 10:00",
                "1.85",
                "",
                "France",
            ],
            ["536401", "21479", "", "-12", "12/2/2010 10:00", "0", "", "France"],
            ["C536402", "21479", "", "4", "12/2/2010 10:00", "0", "", "France"],
            ["536403", "BANK CHARGES", "Bank", "1", "12/2/2010 10:00", "15", "", "UK"],
        ],  # fmt: skip
    )

    output = run(path, "--format", "online-retail")

    sale = Order.objects.get(number="536365")
    assert sale.kind == "sale" and sale.country == "United Kingdom"
    assert sale.placed_at == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert sale.customer.external_id == "17850"
    assert sale.customer.profile.country == "United Kingdom"
    assert list(sale.lines.values_list("line_number", "quantity")) == [(1, 6)]
    ret = Order.objects.get(number="C536379")
    assert ret.kind == "return" and ret.total == Decimal("5.10")
    assert list(ret.lines.values_list("quantity", flat=True)) == [2]
    guest = Order.objects.get(number="536400")
    assert guest.is_guest and guest.country == "France"
    assert Product.objects.get(sku="85123A").name == "WHITE HEART"
    assert not Product.objects.filter(sku__in=["POST", "BANK CHARGES"]).exists()
    assert [line for line, _ in rejects_of(path)] == ["6", "7"]
    assert "non-product stock code POST" in output
    assert "non-product stock code BANK CHARGES" in output
    assert "skipped on purpose: 2" in output
    assert "rejected: 2" in output


def test_online_retail_bad_date_is_rejected(tmp_path):
    path = write_csv(
        tmp_path / "retail.csv",
        RETAIL,
        [["536365", "85123A", "X", "6", "2010-13-01", "2.55", "17850", "UK"]],
    )

    run(path, "--format", "online-retail")

    [(line, error)] = rejects_of(path)
    assert line == "2" and error.startswith("InvoiceDate: '2010-13-01' is not a")


def test_complete_journey_uses_products_csv_beside_the_file(tmp_path):
    write_csv(
        tmp_path / "products.csv",
        ["product_id", "manufacturer_id", "department", "brand", "product_category",
         "product_type", "package_size"],
        [["940996.0", "69", "GROCERY", "Private", "EGGS", "EGGS - X-LARGE", "1 DZ"]],
    )  # fmt: skip
    path = write_csv(
        tmp_path / "transactions.csv",
        JOURNEY,
        [
            [
                "2261",
                "309",
                "31625220889.0",
                "940996",
                "2.0",
                "3.86",
                "0",
                "0",
                "0",
                "5",
                "2017-01-28 19:06:53",
            ],
            [
                "2261",
                "309",
                "31625220889.0",
                "873902",
                "3.0",
                "1.00",
                "0",
                "0",
                "0",
                "5",
                "2017-01-28 19:06:53",
            ],
            [
                "2261",
                "309",
                "31625220890.0",
                "873902",
                "0.0",
                "0.00",
                "0",
                "0",
                "0",
                "5",
                "2017-01-28 19:06:53",
            ],
        ],  # fmt: skip
    )

    output = run(path, "--format", "complete-journey")

    order = Order.objects.get(number="31625220889")
    assert order.customer.external_id == "2261"
    assert list(order.lines.values_list("product__sku", "quantity", "unit_price")) == [
        ("940996", 2, Decimal("1.93")),
        ("873902", 3, Decimal("0.33")),
    ]
    assert order.total == Decimal("4.85")
    eggs = Product.objects.get(sku="940996")
    assert eggs.name == "EGGS - X-LARGE 1 DZ"
    assert eggs.category.path == "GROCERY > EGGS > EGGS - X-LARGE"
    assert Product.objects.get(sku="873902").name == "873902"
    assert rejects_of(path) == [
        ("4", "quantity: is 0; expected at least 1 unit per line")
    ]
    assert "categories created: 3" in output


def test_a_taken_username_gets_a_suffix_for_the_imported_customer(tmp_path):
    CustomerFactory(username="customer-C1")
    path = write_csv(
        tmp_path / "o.csv", GENERIC, [["A1", "C1", "MUG", "1", "3", "2024-01-01"]]
    )

    output = run(path)

    imported = User.objects.get(external_id="C1")
    assert imported.username == "customer-C1-1"
    assert Order.objects.get().customer == imported
    assert "customers created: 1" in output


def test_a_line_too_large_for_an_order_total_is_rejected(tmp_path):
    path = write_csv(
        tmp_path / "o.csv",
        GENERIC,
        [["A1", "C1", "S1", "1000", "9000000000", "2024-01-01"]],
    )

    run(path)

    [(line, error)] = rejects_of(path)
    assert line == "2" and error.startswith("quantity: 1000 × 9000000000.00 is too")


@pytest.mark.postgres_only
def test_a_batch_the_database_refuses_is_not_written_at_all(tmp_path):
    # Each line fits, but the two lines of A3 overflow Order.total together: the
    # second batch fails in the database after its customer and products were made.
    path = write_csv(
        tmp_path / "o.csv",
        GENERIC,
        [
            ["A1", "C1", "S1", "1", "2.00", "2024-01-01"],
            ["A2", "C1", "S1", "1", "2.00", "2024-01-01"],
            ["A3", "C2", "S2", "100", "6000000000", "2024-01-02"],
            ["A3", "C2", "S3", "100", "6000000000", "2024-01-02"],
        ],
    )

    with pytest.raises(CommandError, match="Lines 4–5 were not imported") as failed:
        run(path, "--batch-size", "2")

    assert "run the import again" in str(failed.value)
    assert sorted(Order.objects.values_list("number", flat=True)) == ["A1", "A2"]
    assert OrderLine.objects.count() == 2
    assert not User.objects.filter(external_id="C2").exists()
    assert not Product.objects.filter(sku__in=["S2", "S3"]).exists()
