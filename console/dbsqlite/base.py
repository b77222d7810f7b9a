"""Django's SQLite backend, with two changes.

Datetimes read back are made aware by a plain ``replace``. Django's converter re-checks
``settings.USE_TZ`` and the value's offset through ``timezone.make_aware`` for every datetime of
every row, a tenth of a batch's read time in the engine. The stored text and the values returned
are the same as Django's.

A transaction waiting for the write lock polls for it every LOCK_POLL_S. SQLite's own busy
handler (``busy_timeout``) sleeps in growing steps of up to 100 ms, so with two workers the
waiting one kept sleeping long after the lock was free: a fifth of each worker's time went to
waiting in BEGIN IMMEDIATE. The overall limit stays ``busy_timeout``'s."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from django.conf import settings
from django.db.backends.sqlite3 import base, operations

LOCK_POLL_S = 0.0005


class DatabaseOperations(operations.DatabaseOperations):
    def get_db_converters(self, expression):
        converters = super().get_db_converters(expression)
        if expression.output_field.get_internal_type() == "DateTimeField" and settings.USE_TZ:
            tz = self.connection.timezone
            fast = _aware(tz)
            converters = [fast if c == self.convert_datetimefield_value else c for c in converters]
        return converters


def _aware(tz):
    def convert(value, expression, connection):
        # SQLite's "datetime" column converter has parsed the text already (naive, in ``tz``).
        if value is None:
            return None
        if type(value) is datetime and value.tzinfo is None:
            return value.replace(tzinfo=tz)
        return connection.ops.convert_datetimefield_value(value, expression, connection)

    return convert


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode != "IMMEDIATE":
            return super()._start_transaction_under_autocommit()
        raw = self.connection
        with self.wrap_database_errors:
            (limit_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
            deadline = time.monotonic() + limit_ms / 1000
            raw.execute("PRAGMA busy_timeout = 0")
            try:
                while True:
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        return
                    except sqlite3.OperationalError as exc:
                        if "locked" not in str(exc) or time.monotonic() >= deadline:
                            raise
                    time.sleep(LOCK_POLL_S)
            finally:
                raw.execute(f"PRAGMA busy_timeout = {int(limit_ms)}")
