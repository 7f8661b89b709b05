"""export_forecasts: the active demand and price forecasts as CSV."""

import csv
from datetime import timedelta

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
        ("A", today.isoformat(), "price", "19.99", "19.99", "19.99"),
        ("B", today.isoformat(), "demand", "2", "2.5", "3"),
        ("B", (today + timedelta(days=1)).isoformat(), "demand", "2.5", "3", "3.5"),
    ]
    assert "Exported 3 forecast rows" in capsys.readouterr().out


def test_weekly_periods_under_way_are_exported(tmp_path):
    today = timezone.localdate()
    serve_forecast(
        ProductFactory(sku="W"),
        [7.0, 8.0],
        frequency="W",
        start=today - timedelta(days=6),
    )
    call_command("export_forecasts", str(tmp_path / "f.csv"))
    assert [r["p50"] for r in read(tmp_path / "f.csv")] == ["7", "8"]


def test_export_without_forecasts_writes_only_the_header(tmp_path):
    call_command("export_forecasts", str(tmp_path / "f.csv"))
    assert read(tmp_path / "f.csv") == []


def test_export_to_a_missing_folder_fails(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_forecasts", str(tmp_path / "no" / "f.csv"))
