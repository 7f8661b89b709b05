"""Fast bulk inserts of served rows: COPY on PostgreSQL, bulk_create elsewhere."""

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model


def bulk_insert(
    model: type[Model], fields: Sequence[str], rows: Iterable[tuple]
) -> int:
    """Insert rows (tuples in `fields` order) into the model's table; return the count."""
    columns = [model._meta.get_field(name).column for name in fields]
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        count = 0
        statement = f"COPY {table} ({quoted}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    attnames = [model._meta.get_field(name).attname for name in fields]
    objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
    model.objects.bulk_create(objects, batch_size=2000)
    return len(objects)
