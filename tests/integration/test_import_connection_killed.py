"""The database connection of a running import is killed: saved batches are whole,
the command fails with a sentence (no traceback), and running it again completes the
data with nothing duplicated."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, F, Sum

from orders.models import Order, OrderLine
from tests.import_support import write_rows
from tests.integration.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

HEADER = ["order_id", "customer_id", "sku", "quantity", "unit_price", "ordered_at"]
ORDERS, LINES_PER_ORDER, BATCH = 1500, 4, 200


def import_command(path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ecomsite.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "import_orders", str(path), "--no-progress"]
        + ["--batch-size", str(BATCH)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_an_import_whose_connection_is_killed_resumes_without_duplicates(tmp_path):
    rows = [
        [f"O{o}", f"C{o % 150}", f"S{(o * 7 + n) % 300}", str(1 + n % 3), "2.50"]
        + [f"2025-{1 + o % 12:02d}-{1 + o % 28:02d}T10:00:00+00:00"]
        for o in range(ORDERS)
        for n in range(LINES_PER_ORDER)
    ]
    path = write_rows(tmp_path / "orders.csv", HEADER, rows)
    first = import_command(path)
    wait_for(
        lambda: OrderLine.objects.count() >= 3 * BATCH,
        timeout=120,
        interval=0.05,
        what="a few batches of the import",
    )
    assert first.poll() is None, "the import finished before it could be interrupted"
    assert kill_other_connections() >= 1
    output, _ = first.communicate(timeout=60)

    assert first.returncode != 0, output
    assert "Traceback" not in output, output
    assert "run the import again" in output.lower(), output
    saved = OrderLine.objects.count()
    assert 0 < saved < len(rows)
    assert saved % BATCH == 0, "a batch was half written"

    again = import_command(path)
    output, _ = again.communicate(timeout=300)

    assert again.returncode == 0, output
    assert OrderLine.objects.count() == len(rows)
    assert Order.objects.count() == ORDERS
    per_order = Order.objects.annotate(
        n=Count("lines"), sum=Sum(F("lines__quantity") * F("lines__unit_price"))
    )
    assert set(per_order.values_list("n", flat=True)) == {LINES_PER_ORDER}
    assert all(order.total == order.sum for order in per_order)
    assert Order.objects.aggregate(t=Sum("total"))["t"] == sum(
        Decimal(r[3]) * Decimal(r[4]) for r in rows
    )
