"""Database helpers shared by the batch writers (the engine, the outbox)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

import orjson
from django.db import connection, transaction

P = TypeVar("P")
R = TypeVar("R")


def rows_update(model, objs: list, fields: list[str]) -> None:
    """``bulk_update`` as one parameterised statement (see ``values_update``). Django's
    bulk_update builds a CASE per field and row, which cost more CPU than the rest of a batch
    together."""
    if objs:
        attnames = [model._meta.get_field(name).attname for name in fields]
        values_update(
            model, fields, [(obj.pk, [getattr(obj, a) for a in attnames]) for obj in objs]
        )


def values_update(model, fields: list[str], rows: list[tuple[object, list]]) -> None:
    """The same from plain values: ``rows`` are (primary key, [value per field]); a key given
    twice takes its last values. SQLite: ``UPDATE ... WHERE id = ?`` by executemany (sqlite3
    loops in C). PostgreSQL: one ``UPDATE ... FROM unnest(<one array per column>)``, since
    psycopg's executemany sends and dumps one statement per row."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    prepare = [_preparer(c) for c in columns]
    last = {pk: values for pk, values in rows}
    params = [
        [fn(value) for fn, value in zip(prepare, values, strict=True)] + [pk]
        for pk, values in last.items()
    ]
    table, key = quote(meta.db_table), quote(meta.pk.column)
    if connection.vendor == "postgresql":
        names = [f"c{i}" for i in range(len(columns))]
        assignments = ", ".join(f"{quote(c.column)} = v.c{i}" for i, c in enumerate(columns))
        sql = (
            f"UPDATE {table} SET {assignments} FROM {_unnest([*columns, meta.pk])} "
            f"AS v({', '.join(names)}, k) WHERE {table}.{key} = v.k"
        )
        _execute_columns(sql, params)
        return
    assignments = ", ".join(f"{quote(c.column)} = %s" for c in columns)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = %s", params)


def values_insert(
    model, fields: list[str], rows: list[list | tuple], *, ignore_conflicts: bool = False
) -> None:
    """INSERT plain value rows (one value per field, in order): for writers that never build
    model instances (the rollup job's facts; a primary key may be a field). Fields with defaults
    are not filled in: name them and give their values."""
    if rows:
        _insert(model, *_prepared(model, fields, rows), ignore_conflicts)


def _prepared(model, fields: list[str], rows: list[list | tuple]) -> tuple[list, list[list]]:
    """The fields' columns, and the rows' values converted to database parameters."""
    columns = [model._meta.get_field(name) for name in fields]
    prepare = [_preparer(c) for c in columns]
    return columns, [[fn(v) for fn, v in zip(prepare, row, strict=True)] for row in rows]


def _insert_head(model, columns: list, ignore_conflicts: bool) -> str:
    quote = connection.ops.quote_name
    return (
        f"{_insert_verb(ignore_conflicts)} INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(c.column) for c in columns)})"
    )


def _insert(model, columns: list, params: list[list], ignore_conflicts: bool) -> None:
    """SQLite: executemany of one VALUES row. PostgreSQL: one ``INSERT ... SELECT * FROM
    unnest(...)`` with an array per column (one statement, one round trip)."""
    head, tail = _insert_head(model, columns, ignore_conflicts), _insert_tail(ignore_conflicts)
    if connection.vendor == "postgresql":
        _execute_columns(f"{head} SELECT * FROM {_unnest(columns)}{tail}", params)
        return
    with connection.cursor() as cursor:
        cursor.executemany(f"{head} VALUES ({', '.join(['%s'] * len(columns))}){tail}", params)


PG_CHUNK = 5000  # rows per unnest statement


def _unnest(columns: list) -> str:
    """``unnest(%b::type[], ...)`` for these fields (their PostgreSQL column types), each array
    a parameter dumped in binary (``_execute_columns``)."""
    return "unnest(" + ", ".join(f"%b::{c.db_type(connection)}[]" for c in columns) + ")"


def values_insert_returning(
    model, fields: list[str], rows: list[list | tuple], returning: list[str]
) -> list[tuple]:
    """``values_insert(..., ignore_conflicts=True)`` that also returns the ``returning`` columns
    of the rows it inserted (a row that hit a conflict returns nothing), in no particular order:
    on PostgreSQL one statement per PG_CHUNK rows, on SQLite one multi-row ``INSERT ... ON
    CONFLICT DO NOTHING RETURNING`` per chunk that keeps under its limit of bound values."""
    if not rows:
        return []
    columns, params = _prepared(model, fields, rows)
    quote = connection.ops.quote_name
    back = ", ".join(quote(model._meta.get_field(name).column) for name in returning)
    if connection.vendor == "postgresql":
        sql = (
            f"{_insert_head(model, columns, True)} SELECT * FROM {_unnest(columns)}"
            f"{_insert_tail(True)} RETURNING {back}"
        )
        return _execute_columns(sql, params, fetch=True)
    head = _insert_head(model, columns, False)
    row_marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_chunk = max(1, SQLITE_VALUES // len(columns))
    found: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(params), per_chunk):
            chunk = params[start : start + per_chunk]
            cursor.execute(
                f"{head} VALUES {', '.join([row_marks] * len(chunk))} "
                f"ON CONFLICT DO NOTHING RETURNING {back}",
                [value for row in chunk for value in row],
            )
            found += cursor.fetchall()
    return found


SQLITE_VALUES = 16000  # bound values per SQLite statement (its limit is 32,766)


def _execute_columns(sql: str, params: list[list], fetch: bool = False) -> list[tuple]:
    """Run ``sql`` with ``params`` (rows) turned into one list per column, bound on the server
    in binary (Django's client-side binding would quote every array element in Python). The
    psycopg cursor is the connection's own, inside Django's transaction, with its errors mapped
    to Django's; Django's query log and execute wrappers do not see these statements."""
    import psycopg

    connection.ensure_connection()
    found: list[tuple] = []
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        for start in range(0, len(params), PG_CHUNK):
            chunk = params[start : start + PG_CHUNK]
            columns = [list(column) for column in zip(*chunk, strict=True)]
            cursor.execute(sql, columns)
            if fetch:
                found += cursor.fetchall()
    return found


def ids_reserve(model, objs: list) -> None:
    """Give instances about to be inserted their primary keys now, so that what refers to them
    (a run's messages and steps) can be built before the row is written. PostgreSQL: from the
    key's sequence. SQLite: past the largest key ever handed out (AUTOINCREMENT never reuses
    one) and the largest present; the caller's transaction holds the database's one write lock
    (transactions are IMMEDIATE), so no other writer takes them before the insert."""
    if not objs:
        return
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, len(objs)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        else:
            if not connection.in_atomic_block:
                raise RuntimeError("ids_reserve needs the caller's write transaction on SQLite")
            start = sqlite_next_id(model)
            ids = range(start, start + len(objs))
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk


class WriteOutsideLock(RuntimeError):
    """A write attempted where only reads may run (``reads_only``)."""


@contextmanager
def reads_only() -> Iterator[None]:
    """Refuse any statement but a read inside the block: work prepared outside the write lock
    must not write (in autocommit each write would commit on its own, outside the batch)."""

    def guard(execute, sql, params, many, context):
        if not sql.lstrip()[:6].upper().startswith(("SELECT", "WITH")):
            raise WriteOutsideLock(f"a write where only reads may run: {sql[:120]}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield


def prepares_outside_lock() -> bool:
    """May a batch be worked out before its transaction? SQLite outside a transaction: it has
    one write lock, which a batch should hold only while it writes. PostgreSQL locks rows, and
    inside a caller's transaction the lock is held already."""
    return connection.vendor == "sqlite" and not connection.in_atomic_block


def prepared_write(prepare: Callable[[], P | None], write: Callable[[P], R | None]) -> R | None:
    """SQLite's prepared batches: ``prepare()`` works a batch out with reads only, outside the
    write lock, so that another worker may write meanwhile; ``write(prepared)`` then writes it
    in one short transaction, after checking that what it was worked out from has not moved.
    Returns what ``write`` returns; None, with nothing written, where batches are not prepared
    (``prepares_outside_lock``), when preparing needed a write, ``prepare`` gave None (nothing
    to write this way), or ``write`` gave None (it found the stored rows moved: its transaction
    is rolled back). On None the caller does the batch the usual way, inside the lock."""
    if not prepares_outside_lock():
        return None
    try:
        with reads_only():
            prepared = prepare()
    except WriteOutsideLock:
        return None
    if prepared is None:
        return None
    with transaction.atomic():
        written = write(prepared)
        if written is None:
            transaction.set_rollback(True)
    return written


def sqlite_next_id(model) -> int:
    """SQLite: the first key ``ids_reserve`` would hand out now. Read outside the write lock it
    is a guess, which the writer checks again under the lock before using keys built on it."""
    table, column = model._meta.db_table, model._meta.pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
            f"COALESCE((SELECT max({quote(column)}) FROM {quote(table)}), 0))",
            [table],
        )
        return cursor.fetchone()[0] + 1


def _insert_verb(ignore_conflicts: bool) -> str:
    return "INSERT OR IGNORE" if ignore_conflicts and connection.vendor == "sqlite" else "INSERT"


def _insert_tail(ignore_conflicts: bool) -> str:
    return " ON CONFLICT DO NOTHING" if ignore_conflicts and connection.vendor != "sqlite" else ""


def _sqlite_datetime(value):
    """What Django's SQLite backend stores for an aware datetime: naive UTC, ``str()``."""
    if value is None or not isinstance(value, datetime):
        return value if value is None else connection.ops.adapt_datetimefield_value(value)
    return _sqlite_text(value)


@lru_cache(maxsize=4096)
def _sqlite_text(value: datetime) -> str:
    # A batch writes the same few instants over and over (its "now", a step's entry and exit);
    # equal instants in different zones are equal keys and have the same UTC text.
    if value.tzinfo is not None:
        if value.utcoffset():
            value = value.astimezone(UTC)
        value = value.replace(tzinfo=None)
    return value.isoformat(" ")


def _json_preparer(field):
    if field.encoder is not None:
        return lambda value: field.get_db_prep_save(value, connection)
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda value: None if value is None else Jsonb(value, dumps=json_bytes)
    return _json_text


def json_bytes(value) -> bytes:
    """``value`` as JSON, by orjson (a tenth of ``json.dumps``'s time on the small dicts batches
    write), falling back to ``json.dumps`` for what orjson refuses (integers beyond 64 bits,
    unknown types: these raise from ``json.dumps`` as before). Keys that are not strings become
    strings, as with ``json.dumps``; NaN and infinities become null (``json.dumps`` would write
    text that is not JSON)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value).encode()


def _json_text(value):
    """The JSON text Django's JSONField would store for ``value`` on SQLite (``json_bytes``,
    without spaces: the same JSON), with the empty containers most rows carry (a step's notes, a
    status's raw payload) written without a call into the encoder."""
    if value is None:
        return None
    if not value and type(value) in (dict, list):
        return "{}" if type(value) is dict else "[]"
    return json_bytes(value).decode()


def _preparer(field):
    """A fast value -> database parameter function for one concrete field."""
    from django.db import models

    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime if connection.vendor == "sqlite" else (lambda value: value)
    if isinstance(field, models.JSONField):
        return _json_preparer(field)
    if isinstance(field, models.DecimalField):
        return lambda value: field.get_db_prep_save(value, connection)
    if isinstance(field, models.ForeignKey | models.CharField | models.TextField):
        return lambda value: value
    if isinstance(field, models.IntegerField | models.BooleanField | models.FloatField):
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


def rows_insert(model, objs: list, *, ignore_conflicts: bool = False, keys: bool = False) -> None:
    """``bulk_create`` without primary keys coming back, as one parameterised INSERT (see
    ``_insert``): the rows' values are converted by a plain function per column instead of
    Django's per-value compiler path (most of the CPU of a batch's inserts). Fields with
    ``auto_now``/``auto_now_add`` get their ``pre_save`` value as in ``save``. ``keys``: the
    objects carry their primary keys (``ids_reserve``); otherwise the database assigns them."""
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if keys or not f.primary_key]
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for obj in objs:
        for f in stamped:
            f.pre_save(obj, add=True)
    prepare = [(f.attname, _preparer(f)) for f in fields]
    params = [[fn(getattr(obj, name)) for name, fn in prepare] for obj in objs]
    _insert(model, fields, params, ignore_conflicts)
