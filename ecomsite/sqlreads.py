"""Fixed SQL for the hottest reads, with the ORM's own column names and conversions.

Building a small query through the ORM costs more Python than the database takes to
run it. The few reads on every API request (the token and its user, a served list)
therefore use statements written once per process; `columns` names a model's columns
for one, `build` turns the values of a row back into a model instance exactly as the
ORM would (the backend's and the fields' converters applied), and `fetch` runs one: on
PostgreSQL as a prepared statement, planned once per connection instead of per call.
"""

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Model


@dataclass(frozen=True)
class Columns:
    """Some columns of a model under a table alias, in the model's field order."""

    model: type[Model]
    attnames: tuple[str, ...]
    sql: str  # "alias"."column", ...
    converters: tuple[tuple[int, tuple], ...]  # (position, converters) where needed

    def __len__(self) -> int:
        return len(self.attnames)


@cache
def columns(model: type[Model], alias: str, names: frozenset[str] | None = None):
    """The columns of `model` (all, or the fields whose attname is in `names`)."""
    fields = [
        field
        for field in model._meta.concrete_fields
        if names is None or field.attname in names
    ]
    quote = connection.ops.quote_name
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(alias)
        found = connection.ops.get_db_converters(column)
        found += column.get_db_converters(connection)
        if found:
            converters.append((position, tuple((c, column) for c in found)))
    return Columns(
        model=model,
        attnames=tuple(field.attname for field in fields),
        sql=", ".join(f"{quote(alias)}.{quote(field.column)}" for field in fields),
        converters=tuple(converters),
    )


def build(cols: Columns, values) -> Model:
    """Return the model instance of one row's values for `cols` (others deferred)."""
    values = list(values)
    for position, converters in cols.converters:
        for converter, column in converters:
            values[position] = converter(values[position], column, connection)
    return cols.model.from_db(connection.alias, cols.attnames, values)


def fetch(statement: str, params: list) -> list[tuple]:
    """Run a fixed statement and return its rows."""
    prepared = settings.PREPARED_READS and connection.vendor == "postgresql"
    if not prepared or connection.queries_logged:
        # Logged queries (DEBUG, query-count tests) go the ordinary way: a prepared
        # statement's text is not kept on its cursor for the log.
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    import psycopg

    # Django's cursors bind parameters on the client, which rules out preparing;
    # this one binds on the server, on the same connection and transaction, and is
    # wrapped as Django's own are (errors translated to Django's).
    connection.ensure_connection()
    raw = connection.connection
    raw.prepare_threshold = 0  # Django's client-binding cursors never prepare
    with connection.make_cursor(psycopg.Cursor(raw)) as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    """The quoted column of a model's field, by name or attname."""
    field = next(f for f in model._meta.concrete_fields if name in (f.name, f.attname))
    return connection.ops.quote_name(field.column)
