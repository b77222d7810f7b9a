"""The PostgreSQL backend reads timestamps with psycopg's compiled loader and gives what Django's
own loader gives: the same instants, aware, in the connection's zone."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapt, postgres

from console.dbpostgresql.base import adapters_template

OID = postgres.types["timestamptz"].oid
TEXTS = [
    b"2026-12-05 17:00:00+00",
    b"2026-12-05 23:30:00.123456+05:30",
    b"2026-03-29 01:59:59.999999-07",
    b"0001-01-01 00:00:00+00",
    b"9999-12-31 23:59:59.999999+00",
    b"1969-12-31 23:59:59+00",
]


def _loaded(loader_cls, texts):
    loader = loader_cls(OID, None)
    return [loader.load(text) for text in texts]


def test_compiled_loader_gives_djangos_values():
    ours = adapters_template(True, UTC).get_loader(OID, adapt.pq.Format.TEXT)
    # Ours (Django's own would pass the comparison below too), and carrying what Django's
    # create_cursor compares with its own zone.
    assert ours.__module__ == "console.dbpostgresql.base" and ours.timezone is UTC

    class Django(BaseTzLoader):
        timezone = UTC

    mine, djangos = _loaded(ours, TEXTS), _loaded(Django, TEXTS)
    assert mine == djangos
    assert all(value.tzinfo is UTC for value in mine)
    assert mine[1] == datetime(2026, 12, 5, 18, 0, 0, 123456, tzinfo=UTC)


def test_compiled_loader_without_zone_gives_naive_values():
    ours = adapters_template(False, None).get_loader(OID, adapt.pq.Format.TEXT)
    assert ours.__module__ == "console.dbpostgresql.base"
    assert _loaded(ours, TEXTS[:2]) == [
        datetime(2026, 12, 5, 17),
        datetime(2026, 12, 5, 18, 0, 0, 123456),
    ]


@pytest.mark.django_db
def test_connection_reads_timestamps_through_it():
    from console.models import Workspace

    made = Workspace.objects.create(slug="tz", name="Tz")
    stored = Workspace.objects.get(pk=made.pk).created_at
    assert stored == made.created_at and stored.tzinfo is UTC
    if connection.vendor == "postgresql":
        loader = connection.connection.adapters.get_loader(OID, adapt.pq.Format.TEXT)
        assert loader.__module__ == "console.dbpostgresql.base"
        with connection.cursor() as cursor:
            # A session in another zone: the instant is kept (converted, not relabelled).
            cursor.execute("SET TIME ZONE 'Asia/Kolkata'")
            try:
                cursor.execute("SELECT %s::timestamptz", [made.created_at])
                (back,) = cursor.fetchone()
            finally:
                cursor.execute("SET TIME ZONE 'UTC'")
        assert back == made.created_at
        assert back.utcoffset() == timedelta(0)
