"""export_forecasts: the active demand and price forecasts as CSV."""

import csv
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from forecasting.models import ForecastPoint
from mlops.models import ModelKind, ServedBatch
from tests.factories import ProductFactory
from tests.forecasting.serving_support import serve_forecast, served_batch

pytestmark = pytest.mark.django_db


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_export_writes_active_demand_and_price_rows(tmp_path, capsys):
    """Every served period by default, whatever today's date is."""
    today = timezone.localdate()
    a, b = ProductFactory(sku="A"), ProductFactory(sku="B")
    serve_forecast(b, [2.5, 3.0], spread=0.5)
    serve_forecast(a, [1.0], start=today - timedelta(days=1))  # ended yesterday
    serve_forecast(a, [19.99], kind=ForecastPoint.Kind.PRICE)
    serve_forecast(
        a,
        [4.0],
        frequency="W",
        start=today - timedelta(days=6),
        kind=ForecastPoint.Kind.PRICE,
        batch=served_batch(ModelKind.PRICE, ServedBatch.State.SUPERSEDED),
    )

    call_command("export_forecasts", str(tmp_path / "f.csv"))

    rows = read(tmp_path / "f.csv")
    assert list(rows[0]) == ["sku", "date", "kind", "p10", "p50", "p90"]
    assert [tuple(r.values()) for r in rows] == [
        ("A", (today - timedelta(days=1)).isoformat(), "demand", "1", "1", "1"),
        ("A", today.isoformat(), "price", "19.99", "19.99", "19.99"),
        ("B", today.isoformat(), "demand", "2", "2.5", "3"),
        ("B", (today + timedelta(days=1)).isoformat(), "demand", "2.5", "3", "3.5"),
    ]
    assert "Exported 4 forecast rows" in capsys.readouterr().out


def test_years_old_forecasts_are_exported_by_default(tmp_path, capsys):
    """A forecast made from historical data is exported, not filtered by today."""
    serve_forecast(
        ProductFactory(sku="OLD"), [5.0, 6.0], frequency="W", start=date(2019, 3, 4)
    )
    call_command("export_forecasts", str(tmp_path / "f.csv"))
    assert [(r["date"], r["p50"]) for r in read(tmp_path / "f.csv")] == [
        ("2019-03-04", "5"),
        ("2019-03-11", "6"),
    ]
    assert "Exported 2 forecast rows" in capsys.readouterr().out


def test_from_and_to_narrow_the_periods(tmp_path, capsys):
    serve_forecast(
        ProductFactory(sku="W"), [1.0, 2.0, 3.0], frequency="W", start=date(2020, 1, 6)
    )
    call_command(
        "export_forecasts",
        str(tmp_path / "f.csv"),
        "--from",
        "2020-01-15",  # within the week of 2020-01-13: that week is under way
        "--to",
        "2020-01-19",
    )
    assert [r["date"] for r in read(tmp_path / "f.csv")] == ["2020-01-13"]
    out = capsys.readouterr().out
    assert "Exported 1 forecast rows" in out
    assert "Served periods run from 2020-01-06 to 2020-01-20." in out


def test_weekly_periods_under_way_are_exported_from_today(tmp_path):
    today = timezone.localdate()
    serve_forecast(
        ProductFactory(sku="W"),
        [6.0, 7.0, 8.0],
        frequency="W",
        start=today - timedelta(days=13),
    )
    call_command(
        "export_forecasts", str(tmp_path / "f.csv"), "--from", today.isoformat()
    )
    assert [r["p50"] for r in read(tmp_path / "f.csv")] == ["7", "8"]


def test_export_without_forecasts_says_none_is_served(tmp_path, capsys):
    call_command("export_forecasts", str(tmp_path / "f.csv"))
    assert read(tmp_path / "f.csv") == []
    assert "No forecasts are served" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "2020-02-30"], "is not a date"),
        (["--from", "2020-02-01", "--to", "2020-01-01"], "is before --from"),
    ],
)
def test_bad_period_bounds_are_refused(tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("export_forecasts", str(tmp_path / "f.csv"), *args)


def test_export_to_a_missing_folder_fails(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_forecasts", str(tmp_path / "no" / "f.csv"))


def test_products_with_sales_but_no_forecast_are_listed_with_why(tmp_path, capsys):
    from decimal import Decimal

    from tests.factories import SalesRecordFactory

    served, old, new = (ProductFactory(sku=s) for s in ("SERVED", "OLD", "NEW"))
    SalesRecordFactory(product=served, period_start=date(2020, 1, 6), units=3)
    SalesRecordFactory(product=old, period_start=date(2015, 1, 5), units=Decimal(2))
    SalesRecordFactory(product=new, period_start=date(2020, 1, 6), units=Decimal(1))
    serve_forecast(served, [3.0], start=date(2020, 1, 7))

    call_command("export_forecasts", str(tmp_path / "f.csv"))

    out = capsys.readouterr().out
    assert "2 products with sales have no demand forecast:" in out
    assert "NEW: not in the served batch" in out
    assert "OLD: no sale in the 182 days up to 2020-01-06 (last sale 2015-01-05)" in out
    assert "SERVED:" not in out
