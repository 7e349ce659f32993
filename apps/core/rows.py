"""Written-out SQL for the few reads and writes every API request or push makes.

Building and compiling a queryset costs the ORM about a millisecond of CPU for a join of
three tables (most of an API request's database time on our side); the same SELECT
written out once costs a tenth. `columns` lists a model's columns for such a SELECT and
`instance` turns its values back into the instance the ORM would have made: the same
converters run (decrypted tokens, JSON, dates on SQLite), then `Model.from_db`. `insert`
(or `insert_statement`, to send with others) writes a new row as `save()` would.
`cursor` runs such a statement with the plan PostgreSQL made the first time."""

from contextlib import contextmanager
from functools import cache

import psycopg
from django.db import connections


def columns(model, alias: str) -> str:
    """`alias."col", …` for every concrete field of the model, in field order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


@contextmanager
def cursor(using: str):
    """A cursor for the written-out statements: on PostgreSQL its parameters are bound by
    the server, and a statement run a second time on a connection is prepared, then
    executed by name (settings.DATABASES, prepare_threshold). Planning was most of their
    time in the database: 0.15 to 0.35 ms a statement, three on every push. Elsewhere,
    and for everything else, Django's cursor (bound by the client, nothing prepared)."""
    db = connections[using]
    if db.vendor != "postgresql":
        with db.cursor() as django_cursor:
            yield django_cursor
        return
    # What db.cursor() does, with psycopg's own cursor in place of the client-binding one
    # Django makes: logged as Django logs a statement, its errors Django's.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        raw = psycopg.Cursor(db.connection)
    wrapped = db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)
    with wrapped:
        yield wrapped


def width(model) -> int:
    """How many values `columns(model, …)` selects."""
    return len(model._meta.concrete_fields)


@cache
def _converters(model, using: str):
    db = connections[using]
    fields = model._meta.concrete_fields
    out = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        out.append((db.ops.get_db_converters(column) + column.get_db_converters(db), column))
    return [field.attname for field in fields], out


def instance(model, using: str, values):
    """The model instance for one row's values of `columns(model, …)`."""
    names, converters = _converters(model, using)
    db = connections[using]
    converted = []
    for value, (functions, column) in zip(values, converters, strict=True):
        for function in functions:
            value = function(value, column, db)
        converted.append(value)
    return model.from_db(using, names, converted)


@cache
def _insert(model, using: str):
    db = connections[using]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or not f.auto_created]
    names = ", ".join(db.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {db.ops.quote_name(model._meta.db_table)} ({names}) VALUES ({marks})", fields  # noqa: S608


def no_transaction_open(db) -> bool:
    """Whether a statement sent on `db` now runs in a transaction of its own (autocommit,
    outside any atomic block): one it may open and settle itself (BEGIN, SET LOCAL)."""
    return not db.in_atomic_block and db.get_autocommit()


def insert_statement(obj) -> tuple[str, list]:
    """The INSERT of a new instance whose primary key is set already (a UUID default) and
    its parameters, as `save()` would write it (auto_now fields stamped, values prepared per
    field), without building the ORM's INSERT for it. Once it ran, `inserted` marks the
    instance saved."""
    using = type(obj)._default_manager.db
    sql, fields = _insert(type(obj), using)
    db = connections[using]
    return sql, [field.get_db_prep_save(field.pre_save(obj, True), db) for field in fields]


def inserted(obj):
    """Mark an instance written by `insert_statement`'s INSERT as saved."""
    obj._state.adding = False
    obj._state.db = type(obj)._default_manager.db
    return obj


def insert(obj):
    """INSERT a new instance (insert_statement) and mark it saved. Model save signals are
    not sent."""
    sql, params = insert_statement(obj)
    with connections[type(obj)._default_manager.db].cursor() as cursor:
        cursor.execute(sql, params)
    return inserted(obj)
