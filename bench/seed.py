"""Bulk seeding for the benchmarks: rows written with PostgreSQL's COPY, not the API.

`copy_models` takes rows as dicts of field names and fills in every other field the way
the ORM would (defaults, auto_now, encryption of token fields, JSON), so a seeded row is
one the application reads like any other. `copy_values` is the fast path for very large
tables: the caller gives the database values of the named fields, in order.
"""

from django.core.management.color import no_style
from django.db import connection
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone


def _column_list(model, fields):
    return ", ".join(connection.ops.quote_name(f.column) for f in fields)


def copy_values(model, field_names: list[str], rows) -> int:
    """COPY `rows` (tuples of database values for `field_names`) into the model's table."""
    fields = [model._meta.get_field(name) for name in field_names]
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({_column_list(model, fields)}) FROM STDIN"
    n = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def copy_models(model, rows: list[dict]) -> int:
    """COPY `rows` (dicts keyed by field name or attname) into the model's table, every
    field not given taking its default as the ORM would write it. A serial primary key is
    the database's unless the rows give it (the sequence is then moved past them)."""
    pk = model._meta.pk
    serial = isinstance(pk, AutoFieldMixin)
    given_pk = bool(rows) and (pk.name in rows[0] or pk.attname in rows[0])
    fields = [f for f in model._meta.concrete_fields if not (f is pk and serial and not given_pk)]
    now = timezone.now()

    def value(field, row):
        for key in (field.name, field.attname):
            if key in row:
                return row[key]
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return now
        return field.get_default()

    def prepared():
        for row in rows:
            yield tuple(field.get_db_prep_save(value(field, row), connection) for field in fields)

    n = copy_values(model, [f.name for f in fields], prepared())
    if serial and given_pk:
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
                cursor.execute(sql)
    return n


def analyze(*models):
    """Fresh planner statistics after a bulk load (autovacuum would get there later)."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
