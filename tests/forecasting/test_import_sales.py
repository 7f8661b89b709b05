"""import_sales: aggregated history into SalesRecords, planned rows, idempotent."""

from decimal import Decimal
from functools import partial

import pytest
from django.core.management.base import CommandError

from catalog.models import Product
from forecasting.models import SalesRecord
from tests.factories import ProductFactory
from tests.import_support import rejects_of, run_import, write_rows

run = partial(run_import, "import_sales")
pytestmark = pytest.mark.django_db

HEADER = ["sku", "date", "units", "price", "base_price", "promo", "competitor_price"]


def write_csv(path, rows, header=HEADER):
    return write_rows(path, header, rows)


def test_daily_history_and_planned_rows_are_imported(tmp_path):
    ProductFactory(sku="OJ")
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["OJ", "2024-01-01", "12", "2.50", "2.99", "1", "2.70"],
            ["OJ", "2024-01-02", "7.5", "2.99", "2.99", "0", ""],
            ["OJ", "2024-01-03", "", "1.99", "2.99", "0.5", ""],
        ],
    )

    output = run(path)

    records = list(SalesRecord.objects.order_by("period_start"))
    assert {r.frequency for r in records} == {"D"}
    assert [r.units for r in records] == [Decimal("12"), Decimal("7.5"), None]
    assert records[0].promo == 1.0 and records[0].competitor_price == Decimal("2.70")
    assert records[2].is_planned and records[2].promo == 0.5
    assert records[2].price == Decimal("1.99")
    assert "imported (new sales records): 3" in output
    assert "frequency: D (day, detected)" in output


def test_weekly_frequency_is_detected_and_can_be_forced(tmp_path):
    rows = [
        ["OJ", "2024-01-04", "5", "2", "", "", ""],
        ["OJ", "2024-01-18", "6", "2", "", "", ""],
    ]
    path = write_csv(tmp_path / "w.csv", rows)

    run(path)
    assert set(SalesRecord.objects.values_list("frequency", flat=True)) == {"W"}

    run(path, "--frequency", "D")
    assert SalesRecord.objects.filter(frequency="D").count() == 2


def test_frequency_that_cannot_be_detected_fails_with_advice(tmp_path):
    single = write_csv(
        tmp_path / "one.csv", [["OJ", "2024-01-04", "5", "2", "", "", ""]]
    )
    with pytest.raises(CommandError, match="pass --frequency D or W"):
        run(single)

    odd = write_csv(
        tmp_path / "odd.csv",
        [
            ["OJ", "2024-01-01", "5", "2", "", "", ""],
            ["OJ", "2024-01-04", "5", "2", "", "", ""],
        ],
    )
    with pytest.raises(CommandError, match="3 days apart"):
        run(odd)


def test_unknown_skus_become_untracked_products(tmp_path):
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["NEW", "2024-01-01", "1", "3.25", "", "", ""],
            ["NEW", "2024-01-02", "2", "3", "", "", ""],
        ],
    )

    output = run(path)

    product = Product.objects.get(sku="NEW")
    assert (product.name, product.price, product.stock_tracked) == (
        "NEW", Decimal("3.25"), False,
    )  # fmt: skip
    assert "products created: 1" in output


@pytest.mark.postgres
def test_rerun_adds_nothing_and_changed_rows_are_updated(tmp_path):
    rows = [["OJ", f"2024-01-0{d}", str(d), "2.00", "", "0", ""] for d in range(1, 5)]
    path = write_csv(tmp_path / "s.csv", rows)
    run(path, "--batch-size", "3")

    again = run(path, "--batch-size", "3")
    assert SalesRecord.objects.count() == 4
    assert "imported (new sales records): 0" in again
    assert "skipped as already present: 4" in again

    rows[1][2] = "20"
    write_csv(path, rows)
    changed = run(path)
    assert SalesRecord.objects.get(period_start="2024-01-02").units == Decimal("20")
    assert "updated: 1" in changed and SalesRecord.objects.count() == 4


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (["", "2024-01-03", "1", "2", "", "", ""], "sku: is empty"),
        (
            ["OJ", "03/01/2024", "1", "2", "", "", ""],
            "date: '03/01/2024' is not a date",
        ),
        (["OJ", "2024-01-03", "-1", "2", "", "", ""], "units: -1 is below 0"),
        (
            ["OJ", "2024-01-03", "many", "2", "", "", ""],
            "units: 'many' is not a number",
        ),
        (["OJ", "2024-01-03", "1", "x", "", "", ""], "price: 'x' is not a number"),
        (["OJ", "2024-01-03", "1", "2", "", "1.5", ""], "promo: '1.5' is not a share"),
        (["OJ", "2024-01-03", "", "", "", "0", ""], "units: is empty but no price"),
        (["OJ", "2024-01-01", "3", "2", "", "", ""], "date: 2024-01-01 of OJ already"),
    ],
)
def test_bad_rows_are_rejected_with_line_and_field(tmp_path, row, error):
    good = [
        ["OJ", "2024-01-01", "1", "2", "", "", ""],
        ["OJ", "2024-01-02", "1", "2", "", "", ""],
    ]
    path = write_csv(tmp_path / "s.csv", [*good, row])

    output = run(path)

    [(line, message)] = rejects_of(path)
    assert line == "4" and message.startswith(error)
    assert SalesRecord.objects.count() == 2
    assert "rejected: 1" in output


def test_header_without_required_columns_fails(tmp_path):
    path = write_csv(tmp_path / "s.csv", [], header=["sku", "day", "units"])

    with pytest.raises(CommandError, match="lacks the required column.*date, price"):
        run(path, "--frequency", "D")


def test_stockout_flag_and_revenue_are_kept(tmp_path):
    header = [*HEADER, "stockout"]
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["OJ", "2024-01-01", "3", "2.50", "", "", "", "1"],
            ["OJ", "2024-01-02", "1.5", "2.0001", "", "", "", "false"],
            ["OJ", "2024-01-03", "", "1.99", "", "", "", ""],
        ],
        header=header,
    )

    run(path)

    records = list(SalesRecord.objects.order_by("period_start"))
    assert [r.stockout for r in records] == [True, False, False]
    assert [r.revenue for r in records] == [
        Decimal("7.5"),
        Decimal("3.0002"),  # 3.00015 rounded half even to 4 places
        None,
    ]


def test_a_bad_stockout_flag_is_rejected(tmp_path):
    header = [*HEADER, "stockout"]
    good = [
        ["OJ", "2024-01-01", "1", "2", "", "", "", "TRUE"],
        ["OJ", "2024-01-02", "1", "2", "", "", "", "0"],
    ]
    path = write_csv(
        tmp_path / "s.csv",
        [*good, ["OJ", "2024-01-03", "1", "2", "", "", "", "maybe"]],
        header=header,
    )

    run(path)

    [(line, message)] = rejects_of(path)
    assert line == "4" and message.startswith("stockout: 'maybe' is not a flag")
    assert SalesRecord.objects.filter(stockout=True).count() == 1


def test_unit_cost_is_imported_with_history_and_plans(tmp_path):
    header = [*HEADER, "cost"]
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["OJ", "2024-01-01", "3", "2.50", "", "", "2.40", "1.2"],
            ["OJ", "2024-01-02", "2", "2.50", "", "", "", ""],
            ["OJ", "2024-01-03", "", "2.20", "", "", "", "1.35"],
        ],
        header=header,
    )

    run(path)
    output = run(path)

    records = list(SalesRecord.objects.order_by("period_start"))
    assert [r.cost for r in records] == [Decimal("1.2"), None, Decimal("1.35")]
    assert records[0].competitor_price == Decimal("2.40")
    assert "already present: 3" in output


@pytest.mark.parametrize(
    ("cost", "error"),
    [
        ("-1", "cost: -1 is below 0"),
        ("cheap", "cost: 'cheap' is not a number"),
        ("1" + "0" * 9, "cost: 1000000000 is too large"),
    ],
)
def test_a_bad_cost_is_rejected_with_line_and_column(tmp_path, cost, error):
    header = [*HEADER, "cost"]
    good = [
        ["OJ", "2024-01-01", "1", "2", "", "", "", "1"],
        ["OJ", "2024-01-02", "1", "2", "", "", "", ""],
    ]
    path = write_csv(
        tmp_path / "s.csv",
        [*good, ["OJ", "2024-01-03", "1", "2", "", "", "", cost]],
        header=header,
    )

    run(path)

    [(line, message)] = rejects_of(path)
    assert line == "4" and message.startswith(error)
    assert SalesRecord.objects.count() == 2


def test_a_bad_competitor_price_is_rejected_with_line_and_column(tmp_path):
    good = [
        ["OJ", "2024-01-01", "1", "2", "", "", "2.1"],
        ["OJ", "2024-01-02", "1", "2", "", "", "2.1"],
    ]
    path = write_csv(
        tmp_path / "s.csv", [*good, ["OJ", "2024-01-03", "1", "2", "", "", "n/a"]]
    )

    run(path)

    [(line, message)] = rejects_of(path)
    assert line == "4" and message.startswith("competitor_price: 'n/a' is not a number")
