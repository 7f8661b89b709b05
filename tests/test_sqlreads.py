"""Fixed reads: the same rows as the ORM, prepared on PostgreSQL, ordinary when logged."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecomsite.sqlreads import build, columns, fetch, table
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_rows_build_the_instances_the_orm_reads():
    product = ProductFactory(price="12.50", stock_tracked=True, stock_on_hand=3)
    cols = columns(type(product), "p")

    rows = fetch(f"SELECT {cols.sql} FROM {table(type(product))} p", [])
    built = build(cols, rows[0])
    again = type(product).objects.get()

    for field in type(product)._meta.concrete_fields:
        assert getattr(built, field.attname) == getattr(again, field.attname)
        assert type(getattr(built, field.attname)) is type(
            getattr(again, field.attname)
        )


@pytest.mark.postgres_only
def test_postgresql_prepares_a_fixed_read_unless_queries_are_logged(settings):
    statement = "SELECT %s::int + 1"

    assert fetch(statement, [1]) == [(2,)]
    with CaptureQueriesContext(connection) as logged:
        assert fetch(statement, [2]) == [(3,)]

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [text for (text,) in cursor.fetchall()]
    assert any("$1::int + 1" in text for text in prepared)
    assert [q["sql"] for q in logged] == ["SELECT 2::int + 1"]

    settings.PREPARED_READS = False
    assert fetch("SELECT %s::int + 2", [3]) == [(5,)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        assert not any("+ 2" in text for (text,) in cursor.fetchall())
