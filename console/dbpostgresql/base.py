"""Django's PostgreSQL backend, with one change: timestamps with a time zone are read by psycopg's
compiled loader.

Django registers its own loader for ``timestamptz``, a subclass of psycopg's pure-Python one that
then replaces each value's ``tzinfo`` with the connection's time zone. Subclassing keeps psycopg
from using its compiled loader, so every timestamp of every row went through a regular
expression in Python: 3 % of an engine worker's time. Here the loader hands each value to the
compiled loader and converts it to the connection's zone, which gives the instants and zone
Django's gives (the session's ``TimeZone`` is the connection's, as Django sets it).

Django's ``create_cursor`` compares its time zone with the registered loader's ``timezone``
attribute and registers its own loader on the cursor when they differ; the loader here carries
that attribute, so the cursor keeps it."""

from __future__ import annotations

from functools import lru_cache

import psycopg
from django.db.backends.postgresql import base
from psycopg import adapt, pq
from psycopg.types.datetime import TimestamptzLoader


@lru_cache
def _compiled_loader():
    """psycopg's compiled ``TimestamptzLoader`` (None without the binary package)."""
    map_ = adapt.AdaptersMap(psycopg.adapters)
    map_.register_loader("timestamptz", TimestamptzLoader)
    found = map_.get_loader(map_.types["timestamptz"].oid, pq.Format.TEXT)
    return None if found is TimestamptzLoader else found


def _tz_loader(tz):
    compiled = _compiled_loader()

    class CompiledTzLoader(adapt.Loader):
        timezone = tz

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._load = compiled(oid, context).load

        def load(self, data):
            value = self._load(data)
            if tz is None:
                return value.replace(tzinfo=None)
            return value if value.tzinfo is tz else value.astimezone(tz)

    return CompiledTzLoader


@lru_cache
def adapters_template(use_tz, timezone):
    """Django's adapters map for this time zone, with the compiled timestamp loader."""
    context = adapt.AdaptersMap(base.get_adapters_template(use_tz, timezone))
    if _compiled_loader() is not None:
        context.register_loader("timestamptz", _tz_loader(timezone))
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if "context" in params:
            from django.conf import settings

            params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params
