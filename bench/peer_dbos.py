"""DBOS peer (issue 8 workload 4): the 4-step journey as a DBOS durable workflow, with the DBOS
system database on the benchmark's database (SQLite file or PostgreSQL).

One workflow per customer: the trigger starts it; ``send_whatsapp`` (a datasource transaction:
the Message row and DBOS's checkpoint in one commit); the simulated provider answers at once and,
when the message is read, its callback is a ``DBOS.send`` to the workflow (topic "read");
``DBOS.sleep`` for the 1 h wait; ``DBOS.recv("read", timeout)`` for the wait-for-read; on timeout
``send_sms`` (another datasource transaction); the workflow's end is the exit. Steps are counted
as Sangam counts them (5 per read run, 6 per SMS fallback).

Time: DBOS sleeps and times out in real time, so the waits are compressed: one journey hour
lasts --hour-seconds (default 0.01 s; the 24 h timeout 0.24 s), close to the Sangam benchmark's
driver, which jumps its clock as soon as the pipeline is idle. Workflows are started from one
thread with at most --inflight running at once (DBOS runs each in a thread of its executor;
20 on SQLite and 50 on PostgreSQL by default, the best of a sweep on this machine).
SQLite in WAL mode with synchronous=NORMAL (set on every connection DBOS opens), PostgreSQL
with its defaults, as Sangam. ``--workers`` processes split the customers by id, each its own
DBOS executor on the same system database.

Needs the bench extra: pip install -e ".[bench]".

Usage:
  python bench/peer_dbos.py --customers 2000,10000 --workers 1 \\
      --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from pathlib import Path

from common import ROOT, peak_rss_mb, results_write
from peer_common import (
    SMS_BODY,
    WHATSAPP_BODY,
    Store,
    configurations_measure,
    part_ready_wait,
    parts_merge,
    parts_run,
    peer_parser,
    whatsapp_outcome,
)

HERE = ROOT / "bench"
# The best of a sweep (5 to 500) at 1,000-2,000 customers on the project's machine: on SQLite
# more workflows at once than DBOS's pool (20 connections) collapse the rate (20 at once: about
# 200 steps/s; 100: about 20), as writers queue on the database lock.
INFLIGHT = (20, 50)
STATE_DIR = ROOT / "var" / f"bench-dbos-{os.environ.get('BENCH_STATE', 'default')}"
MESSAGE_DDL = (
    "CREATE TABLE dbos_message (id {pk}, customer integer NOT NULL, channel varchar(16) NOT NULL,"
    " status varchar(16) NOT NULL, body text NOT NULL)"
)


def _args(argv=None) -> argparse.Namespace:
    parser = peer_parser(__doc__, workers="1", workers_help="comma-separated process counts")
    parser.add_argument("--hour-seconds", type=float, default=0.01, help="one journey hour")
    parser.add_argument(
        "--inflight", type=int, default=0,
        help=f"workflows running at once (default: {INFLIGHT[0]} on SQLite, {INFLIGHT[1]} on PostgreSQL)",
    )  # fmt: skip
    parser.add_argument("--part", type=int, default=-1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def sqlite_path():
    return ROOT / "var" / os.environ.get("BENCH_SQLITE", "bench-dbos.sqlite3")


def database_url(database: str) -> str:
    if database == "sqlite":
        return f"sqlite:///{sqlite_path()}"
    return database.replace("postgres://", "postgresql://", 1)


def sqlite_pragmas_install() -> None:
    """Sangam's SQLite durability on every connection SQLAlchemy opens (DBOS's included)."""
    import sqlalchemy as sa
    from sqlalchemy import event

    @event.listens_for(sa.engine.Engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")


# --- one worker -------------------------------------------------------------------------------


def workflows_define(url: str, hour_s: float):
    """Register the workflow and its steps with DBOS (before launch); returns the workflow."""
    import sqlalchemy as sa
    from dbos import DBOS, SQLAlchemyDatasource

    datasource = SQLAlchemyDatasource.create(url)
    insert = sa.text(
        "INSERT INTO dbos_message (customer, channel, status, body) "
        "VALUES (:customer, :channel, :status, :body)"
    )

    def message_write(customer: int, channel: str, status: str, body: str) -> None:
        datasource.sql_session().execute(
            insert,
            {"customer": customer, "channel": channel, "status": status,
             "body": body.format(name=f"Priya Bench{customer}", i=customer)},
        )  # fmt: skip

    @datasource.transaction()
    def send_whatsapp(customer: int) -> str:
        status = whatsapp_outcome(customer)  # the simulated provider answers at once
        message_write(customer, "whatsapp", status, WHATSAPP_BODY)
        return status

    @datasource.transaction()
    def send_sms(customer: int) -> str:
        message_write(customer, "sms", "delivered", SMS_BODY)
        return "delivered"

    @DBOS.workflow()
    def reminder(customer: int) -> tuple[int, int]:
        """Returns (steps, messages) of this run, counted as Sangam counts them."""
        status = send_whatsapp(customer)
        if status == "read":  # the provider's status callback reaches the workflow
            DBOS.send(DBOS.workflow_id, "read", topic="read")
        DBOS.sleep(hour_s)
        read = DBOS.recv("read", timeout_seconds=24 * hour_s)
        if read is not None:
            return 5, 1  # trigger, whatsapp, wait_1h, wait_read, exit "read"
        send_sms(customer)
        return 6, 2  # ..., sms, exit "done"

    return reminder


def part_main(args: argparse.Namespace) -> None:
    """One process: launch DBOS, run its customers' workflows with a bounded window."""
    from dbos import DBOS

    customers, workers, part = int(args.customers), int(args.workers), args.part
    url = database_url(args.database)
    sqlite_pragmas_install()
    DBOS(config={"name": "sangam-bench", "system_database_url": url,
                 "executor_id": f"bench-part-{part}", "log_level": "WARNING"})  # fmt: skip
    reminder = workflows_define(url, args.hour_seconds)
    DBOS.launch()
    part_ready_wait(STATE_DIR, part)
    began = time.time()
    steps = messages = 0
    inflight: deque = deque()
    for customer in range(part, customers, workers):
        if len(inflight) >= args.inflight:
            s, m = inflight.popleft().get_result()
            steps, messages = steps + s, messages + m
        inflight.append(DBOS.start_workflow(reminder, customer))
    while inflight:
        s, m = inflight.popleft().get_result()
        steps, messages = steps + s, messages + m
    ended = time.time()
    DBOS.destroy()
    print(json.dumps({"began": began, "ended": ended, "steps": steps, "messages": messages,
                      "peak_rss_mb": peak_rss_mb()}))  # fmt: skip


# --- the driver -------------------------------------------------------------------------------


def database_reset(database: str) -> None:
    """A fresh SQLite file, or on PostgreSQL no DBOS schemas and no message table."""
    if database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path()}{suffix}").unlink(missing_ok=True)
    store = Store(database, sqlite_path())
    if not store.sqlite:
        for schema in ("dbos",):
            store.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    store.execute("DROP TABLE IF EXISTS dbos_message")
    pk = "integer PRIMARY KEY" if store.sqlite else "bigserial PRIMARY KEY"
    store.execute(MESSAGE_DDL.format(pk=pk))
    store.close()


def measure(database: str, customers: int, workers: int, hour_seconds: float = 0.01,
            inflight: int = 0) -> dict:  # fmt: skip
    """One run of the peer on a reset database; the report bench/peers.py compares."""
    inflight = inflight or INFLIGHT[0 if database == "sqlite" else 1]
    database_reset(database)
    argv = ["--database", database, "--customers", str(customers),
            "--hour-seconds", str(hour_seconds), "--inflight", str(inflight)]  # fmt: skip
    reports = parts_run(HERE / "peer_dbos.py", argv, workers, STATE_DIR)
    store = Store(database, sqlite_path())
    count = store.execute("SELECT COUNT(*) FROM dbos_message")[0][0]
    store.close()
    report = parts_merge("dbos", customers, reports, hour_seconds=hour_seconds, inflight=inflight)
    if count != report["messages"]:
        raise RuntimeError(f"dbos wrote {count} message rows, expected {report['messages']}")
    return report


def main(argv=None) -> None:
    args = _args(argv)
    if args.part >= 0:
        return part_main(args)
    figures = configurations_measure(
        "dbos",
        args,
        lambda database, customers, workers: measure(
            database, customers, workers, args.hour_seconds, args.inflight
        ),
    )
    from common import django_connect

    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('peer_dbos', vars(args), figures)}")
    return None


if __name__ == "__main__":
    sys.exit(main())
