"""The machine's limit: how fast the database takes the minimal write one engine step needs.

Measured through the driver (sqlite3 / psycopg), with no Django and no engine:
  - a bare single-row transaction: BEGIN; INSERT one step-shaped row; COMMIT (what a design that
    commits every step pays per step);
  - batched inserts of the same rows: 1,000 rows per transaction (executemany), the shape the
    engine's batches take.
SQLite uses the project's settings (WAL, synchronous=NORMAL); PostgreSQL its defaults (fsync on).
The engine benchmark calls ``limits`` in its own run, so its steps/s are reported as a fraction
of a limit measured moments before on the same database.

Usage: python bench/db_limit.py [--database sqlite|postgres://...] [--seconds 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from common import ROOT, postgres_ensure, spread

TABLE = "bench_limit_step"
COLUMNS = "(run_id, node_id, kind, attempt, entered_at, left_at, port, reason, detail)"
DDL = (
    f"CREATE TABLE {TABLE} (id {{pk}}, run_id bigint NOT NULL, node_id varchar(64) NOT NULL, "
    "kind varchar(32) NOT NULL, attempt integer NOT NULL, entered_at {ts} NOT NULL, "
    "left_at {ts} NOT NULL, port varchar(64) NOT NULL, reason varchar(300) NOT NULL, "
    f"detail text NOT NULL, UNIQUE (run_id, node_id, attempt))"
)


def _row(i: int) -> tuple:
    now = datetime.now(UTC).isoformat()
    return (i, "wait_read", "wait_for", 1, now, now, "timeout", "fallback: unread after 24h", "{}")


class Driver:
    """One raw connection; ``mark`` is the driver's parameter placeholder."""

    def __init__(self, database: str) -> None:
        self.database = database
        if database == "sqlite":
            path = ROOT / "var" / "bench-limit.sqlite3"
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.mark, pk, ts = "?", "integer PRIMARY KEY", "text"
        else:
            import psycopg

            postgres_ensure(database)
            self.conn = psycopg.connect(database, autocommit=True)
            self.mark, pk, ts = "%s", "bigserial PRIMARY KEY", "timestamptz"
        self.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.execute(DDL.format(pk=pk, ts=ts))
        marks = ", ".join([self.mark] * 9)
        self.insert = f"INSERT INTO {TABLE} {COLUMNS} VALUES ({marks})"

    def execute(self, sql: str, params=()) -> None:
        self.conn.execute(sql, params)

    def transaction(self, rows: list[tuple]) -> None:
        begin = "BEGIN IMMEDIATE" if self.database == "sqlite" else "BEGIN"
        self.execute(begin)
        if len(rows) == 1:
            self.execute(self.insert, rows[0])
        elif self.database == "sqlite":
            self.conn.executemany(self.insert, rows)
        else:
            with self.conn.cursor() as cursor:
                cursor.executemany(self.insert, rows)
        self.execute("COMMIT")

    def close(self) -> None:
        self.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.conn.close()


def rate(driver: Driver, batch: int, seconds: float, start_id: int) -> tuple[float, int]:
    """Rows per second committing ``batch`` rows per transaction for about ``seconds``."""
    done, next_id = 0, start_id
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        rows = [_row(next_id + i) for i in range(batch)]
        next_id += batch
        driver.transaction(rows)
        done += batch
    return done / (time.perf_counter() - began), next_id


def limits(database: str, *, seconds: float = 2.0, repeats: int = 3) -> dict:
    """Medians (with min/max) of rows/s for single-row and batched (1,000) transactions."""
    driver = Driver(database)
    try:
        single, batched, next_id = [], [], 0
        for _ in range(repeats):  # interleaved, so both see the same background load
            value, next_id = rate(driver, 1, seconds, next_id)
            single.append(value)
            value, next_id = rate(driver, 1000, seconds, next_id)
            batched.append(value)
    finally:
        driver.close()
    return {"single_row_tx_per_s": spread(single), "batched_rows_per_s": spread(batched)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="sqlite", help="sqlite or a postgres:// URL")
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures = limits(args.database, seconds=args.seconds, repeats=args.repeats)
    print(f"{'write':<34} {'median/s':>10} {'min/s':>10} {'max/s':>10}")
    for name, f in figures.items():
        print(f"{name:<34} {f['median']:>10,.0f} {f['min']:>10,.0f} {f['max']:>10,.0f}")
    from common import django_connect, results_write

    django_connect(args.database)
    print(f"results: {results_write('db_limit', vars(args), figures)}")


if __name__ == "__main__":
    main()
