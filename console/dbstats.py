"""Planner statistics that keep up with the engine's own bulk writes (PostgreSQL).

A campaign can grow the run and message tables from a few rows to 100,000 in a minute. Until
they are analyzed again, PostgreSQL plans every query with the statistics of the small table:
without a ``customer_id`` histogram, "these 1,000 customers' open runs" is estimated at every
row, so it walks the whole status index (or scans the table in parallel) instead of probing the
customer index, and each batch's reads cost more the larger the table has grown. Autovacuum's
analyze comes at most once a minute (and not at all where it is turned off).

``statistics_keep_up`` closes that gap: the batch services call it on their way in, it looks at
most every ``CHECK_EVERY_S`` seconds per process, and it analyzes each hot table that now holds
``GROWTH`` times the rows of its last analyze (never analyzed: ``MIN_ROWS``), so a growing table
is analyzed a few times in all and a large steady one is left to autovacuum. One worker analyzes
at a time (a try-lock); the others go on. SQLite plans from its indexes without statistics, so
nothing is done there.

``no_statistics`` is the migrations' part: ANALYZE skips the payload columns that nothing filters
on by value (JSON documents, rendered texts, reasons), which took about half of its time on
these tables, for autovacuum's analyze as for ours.
"""

from __future__ import annotations

import logging
import time

from django.db import connection, migrations, transaction

log = logging.getLogger("sangam.db")

HOT_TABLES = (
    "journeys_run",
    "journeys_step",
    "journeys_runinput",
    "channels_app_message",
    "channels_app_messagestatuschange",
    "channels_app_simulatedoutcome",
    "console_event",
)
CHECK_EVERY_S = 2.0
MIN_ROWS = 1000
GROWTH = 2.0
LOCK_KEY = 0x53414E47_41A1  # pg_try_advisory_xact_lock key of the analyzing worker

_checked_at: dict[str, float] = {}


def stale_tables() -> list[str]:
    """The hot tables holding ``GROWTH`` times the rows of their last analyze (``reltuples``;
    -1 before the first), and at least ``MIN_ROWS``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples, s.n_live_tup FROM pg_class c "
            "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = ANY(%s)",
            [list(HOT_TABLES)],
        )
        rows = cursor.fetchall()
    return sorted(name for name, seen, live in rows if live >= max(MIN_ROWS, GROWTH * max(seen, 0)))


def statistics_keep_up(*, force: bool = False) -> list[str]:
    """Analyze the stale hot tables (PostgreSQL, outside a transaction); returns their names.
    ``force`` skips the per-process interval."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    now = time.monotonic()
    alias = connection.alias
    if not force and now - _checked_at.get(alias, float("-inf")) < CHECK_EVERY_S:
        return []
    _checked_at[alias] = now
    stale = stale_tables()
    if not stale:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            return []  # another worker is analyzing
        stale = stale_tables()  # it may have just finished these
        if stale:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in stale))
    if stale:
        log.info("analyzed %s (grown since their last statistics)", ", ".join(stale))
    return stale


def no_statistics(table: str, *columns: str) -> migrations.RunPython:
    """A migration operation: PostgreSQL's ANALYZE leaves these columns out (statistics target
    0); reversed, they take the default target again. Nothing on SQLite."""

    def target(value: int):
        def run(apps, schema_editor) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            quote = schema_editor.quote_name
            alters = ", ".join(
                f"ALTER COLUMN {quote(column)} SET STATISTICS {value}" for column in columns
            )
            schema_editor.execute(f"ALTER TABLE {quote(table)} {alters}")

        return run

    return migrations.RunPython(target(0), target(-1))
