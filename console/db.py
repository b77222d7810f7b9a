"""Database helpers shared by the batch writers (the engine, the outbox)."""

from __future__ import annotations

from django.db import connection


def rows_update(model, objs: list, fields: list[str]) -> None:
    """``bulk_update`` as one parameterised ``UPDATE ... WHERE id = %s`` run with executemany
    (psycopg pipelines it; sqlite3 loops in C). Django's bulk_update builds a CASE per field and
    row, which cost more CPU than the rest of a batch together."""
    if not objs:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(c.column)} = %s" for c in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    params = [
        [c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
