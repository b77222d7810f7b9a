"""Database helpers shared by the batch writers (the engine, the outbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.db import connection


def rows_update(model, objs: list, fields: list[str]) -> None:
    """``bulk_update`` as one parameterised ``UPDATE ... WHERE id = %s`` run with executemany
    (psycopg pipelines it; sqlite3 loops in C). Django's bulk_update builds a CASE per field and
    row, which cost more CPU than the rest of a batch together."""
    if objs:
        attnames = [model._meta.get_field(name).attname for name in fields]
        values_update(
            model, fields, [(obj.pk, [getattr(obj, a) for a in attnames]) for obj in objs]
        )


def values_update(model, fields: list[str], rows: list[tuple[object, list]]) -> None:
    """The same from plain values: ``rows`` are (primary key, [value per field])."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(c.column)} = %s" for c in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    prepare = [_preparer(c) for c in columns]
    params = [
        [fn(value) for fn, value in zip(prepare, values, strict=True)] + [pk] for pk, values in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def values_insert(
    model, fields: list[str], rows: list[list | tuple], *, ignore_conflicts: bool = False
) -> None:
    """INSERT plain value rows (one value per field, in order) with executemany: for writers
    that never build model instances (the rollup job's facts; a primary key may be a field).
    Fields with defaults are not filled in: name them and give their values."""
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    sql = (
        f"{_insert_verb(ignore_conflicts)} INTO {quote(meta.db_table)} "
        f"({', '.join(quote(c.column) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}){_insert_tail(ignore_conflicts)}"
    )
    prepare = [_preparer(c) for c in columns]
    params = [[fn(value) for fn, value in zip(prepare, row, strict=True)] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _insert_verb(ignore_conflicts: bool) -> str:
    return "INSERT OR IGNORE" if ignore_conflicts and connection.vendor == "sqlite" else "INSERT"


def _insert_tail(ignore_conflicts: bool) -> str:
    return " ON CONFLICT DO NOTHING" if ignore_conflicts and connection.vendor != "sqlite" else ""


def _sqlite_datetime(value):
    """What Django's SQLite backend stores for an aware datetime: naive UTC, ``str()``."""
    if value is None or not isinstance(value, datetime):
        return value if value is None else connection.ops.adapt_datetimefield_value(value)
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

        return lambda value: None if value is None else Jsonb(value)
    return lambda value: None if value is None else json.dumps(value)


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


def rows_insert(model, objs: list, *, ignore_conflicts: bool = False) -> None:
    """``bulk_create`` without primary keys coming back, as one parameterised INSERT run with
    executemany: the rows' values are converted by a plain function per column instead of
    Django's per-value compiler path (most of the CPU of a batch's inserts). Fields with
    ``auto_now``/``auto_now_add`` get their ``pre_save`` value as in ``save``."""
    if not objs:
        return
    meta, quote = model._meta, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]  # an automatic key
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for obj in objs:
        for f in stamped:
            f.pre_save(obj, add=True)
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = (
        f"{_insert_verb(ignore_conflicts)} INTO {quote(meta.db_table)} ({columns}) "
        f"VALUES ({marks}){_insert_tail(ignore_conflicts)}"
    )
    prepare = [(f.attname, _preparer(f)) for f in fields]
    params = [[fn(getattr(obj, name)) for name, fn in prepare] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
