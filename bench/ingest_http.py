"""Ingest over HTTP (issue 8, workload 6): events/s through POST /api/v1/events/batch and
/api/v1/events against a real daphne, and latency at a fixed offered load.

A daphne child process serves console.asgi on a free 127.0.0.1 port against a scratch database
(SQLite file, or PostgreSQL: createdb'd when missing) with a workspace, --customers customers and
an API key; the API rate limit is raised for the run. An async httpx client in this process
(same machine) then runs, per repeat:
  1. batch:  --batches requests of --batch-size events (at most 1,000), --batch-concurrency at a
     time, back to back: the maximum events/s batched;
  2. single: --singles requests of one event, --concurrency at a time: the maximum requests/s;
  3. fixed:  single events at --rate requests/s for --rate-seconds, open loop (requests start on
     schedule whether or not earlier ones answered; latency counts from the scheduled start).
Every event has its own event_id and a known customer. Afterwards the stored events are counted
against the accepted ones. Figures are medians over --repeats with min and max; the server's and
the client's CPU seconds per phase say who was busy (2 cores, shared).

Usage:
  python bench/ingest_http.py --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench_load
  python bench/ingest_http.py --batches 3 --singles 300 --rate 100 --rate-seconds 2 --repeats 1
  python bench/ingest_http.py --profile var/ingest      # py-spy the server in each phase
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from common import ROOT, results_write, spread
from loadgen import (
    argv_replace,
    child_run,
    closed_loop,
    database_label,
    http_client,
    latency_ms,
    open_loop,
    postgres_ensure,
    profile_start,
    profile_stop,
    profile_top,
    result_print,
    server_start,
)

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/sangam_bench_load"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", default="sqlite", help=f"comma-separated: sqlite, {PG_DEFAULT}"
    )
    parser.add_argument("--customers", type=int, default=10_000, help="customers seeded")
    parser.add_argument("--batches", type=int, default=20, help="batch requests per repeat")
    parser.add_argument("--batch-size", type=int, default=1000, help="events per batch (<= 1000)")
    parser.add_argument("--batch-concurrency", type=int, default=2)
    parser.add_argument(
        "--singles", type=int, default=1000, help="single-event requests per repeat"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="open single requests")
    parser.add_argument("--rate", type=float, default=50, help="offered single requests/s")
    parser.add_argument("--rate-seconds", type=float, default=10, help="length of the fixed load")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", default="", help="py-spy the server into this folder")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size: the API takes 1 to 1,000 events per batch")
    return args


# --- one database (a child process) -------------------------------------------------------------


def seed(customers: int) -> str:
    """A workspace, ``customers`` customers (C000000...) and an API key; returns the key."""
    from console.models import Customer, Workspace
    from console.services import apikey_create

    workspace = Workspace.objects.create(slug="ingest", name="Ingest bench")
    for start in range(0, customers, 5000):
        Customer.objects.bulk_create(
            Customer(
                workspace=workspace,
                external_id=f"C{i:06d}",
                name=f"Bench {i}",
                phone=f"+9190{i:08d}",
            )  # fmt: skip
            for i in range(start, min(customers, start + 5000))
        )
    _key, secret = apikey_create(workspace=workspace, name="ingest bench")
    return secret


def _event(tag: str, i: int, customers: int) -> dict:
    return {"event_id": f"{tag}-{i}", "customer": {"external_id": f"C{i % customers:06d}"},
            "name": "order.placed", "properties": {"order_id": f"O{i}", "amount": 1299}}  # fmt: skip


async def phases(args, base: str, secret: str, repeat: int, server) -> dict:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    widest = max(args.concurrency, args.batch_concurrency, 64)
    async with http_client(base, widest, headers) as client:
        batch_bodies = [
            json.dumps({"events": [_event(f"b{repeat}.{n}", i, args.customers)
                                   for i in range(args.batch_size)]}).encode()
            for n in range(args.batches)
        ]  # fmt: skip

        async def batch(index: int) -> int:
            return (
                await client.post("/api/v1/events/batch", content=batch_bodies[index])
            ).status_code

        async def single(index: int, tag: str) -> int:
            body = json.dumps(_event(tag, index, args.customers)).encode()
            return (await client.post("/api/v1/events", content=body)).status_code

        out = {}
        out["batch"] = await _phase(args, server, "batch", repeat, closed_loop(
            batch, args.batches, args.batch_concurrency))  # fmt: skip
        out["single"] = await _phase(args, server, "single", repeat, closed_loop(
            lambda i: single(i, f"s{repeat}"), args.singles, args.concurrency))  # fmt: skip
        total = max(1, int(args.rate * args.rate_seconds))
        out["fixed"] = await _phase(args, server, "fixed", repeat, open_loop(
            lambda i: single(i, f"f{repeat}"), args.rate, total, max_in_flight=256))  # fmt: skip
    return out


async def _phase(args, server, name: str, repeat: int, load) -> dict:
    spy = None
    raw = None
    if args.profile and repeat == 0:
        from pathlib import Path

        folder = Path(args.profile)
        folder.mkdir(parents=True, exist_ok=True)
        raw = folder / f"ingest-{name}-{database_label(args.database)}.txt"
        spy = profile_start(server.proc.pid, 3600, raw)
    cpu = server.cpu_seconds()
    outcome = await load
    server_cpu = server.cpu_seconds() - cpu
    if spy is not None:
        profile_stop(spy)
    accepted = sum(n for status, n in outcome.statuses.items() if status in (200, 202))
    figures = {
        "requests": outcome.done, "accepted": accepted, "failures": outcome.failures,
        "statuses": {str(k): v for k, v in outcome.statuses.items()},
        "elapsed_s": round(outcome.elapsed, 3),
        "requests_per_s": round(accepted / outcome.elapsed, 1),
        "latency": latency_ms(outcome.latencies),
        "server_cpu_s": round(server_cpu, 2), "client_cpu_s": round(outcome.client_cpu, 2),
    }  # fmt: skip
    if raw is not None:
        figures["profile"] = {"file": str(raw), "top": profile_top(raw)}
    return figures


def run_one(args) -> dict:
    from common import django_setup

    os.environ.setdefault("BENCH_SQLITE", "bench-ingest.sqlite3")
    if args.database != "sqlite":
        postgres_ensure(args.database)
    django_setup(args.database)
    from django.db import connection

    from console.models import Event

    secret = seed(args.customers)
    connection.close()
    server = server_start(name="ingest")
    try:
        runs = []
        for repeat in range(args.repeats):
            run = asyncio.run(phases(args, server.base, secret, repeat, server))
            run["batch"]["events_per_s"] = round(
                run["batch"]["accepted"] * args.batch_size / run["batch"]["elapsed_s"], 1
            )
            runs.append(run)
            _print_repeat(args, repeat, run)
    finally:
        server.stop()
    accepted = sum(r["batch"]["accepted"] * args.batch_size + r["single"]["accepted"]
                   + r["fixed"]["accepted"] for r in runs)  # fmt: skip
    stored = Event.objects.filter(source="api").count()
    return {"runs": runs, "events_accepted": accepted, "events_stored": stored,
            "summary": _summary(runs)}  # fmt: skip


def _summary(runs: list[dict]) -> dict:
    def of(phase: str, key: str, sub: str | None = None) -> dict:
        values = [r[phase][key][sub] if sub else r[phase][key] for r in runs]
        return spread([v for v in values if v is not None] or [0])

    return {
        "batch_events_per_s": of("batch", "events_per_s"),
        "batch_p50_ms": of("batch", "latency", "p50_ms"),
        "batch_p99_ms": of("batch", "latency", "p99_ms"),
        "single_requests_per_s": of("single", "requests_per_s"),
        "single_p50_ms": of("single", "latency", "p50_ms"),
        "single_p99_ms": of("single", "latency", "p99_ms"),
        "fixed_achieved_per_s": of("fixed", "requests_per_s"),
        "fixed_p50_ms": of("fixed", "latency", "p50_ms"),
        "fixed_p99_ms": of("fixed", "latency", "p99_ms"),
    }


def _print_repeat(args, repeat: int, run: dict) -> None:
    b, s, f = run["batch"], run["single"], run["fixed"]
    label = database_label(args.database)
    print(f"{label} #{repeat + 1}: batch {b['events_per_s']:>9,.0f} events/s "
          f"(p50 {b['latency']['p50_ms']} ms, p99 {b['latency']['p99_ms']} ms) | "
          f"single {s['requests_per_s']:>6,.0f} req/s (p50 {s['latency']['p50_ms']} ms, "
          f"p99 {s['latency']['p99_ms']} ms) | at {args.rate:g}/s: p50 {f['latency']['p50_ms']} ms, "
          f"p99 {f['latency']['p99_ms']} ms, {f['requests_per_s']:,.0f}/s done | "
          f"cpu s server/client {b['server_cpu_s']}/{b['client_cpu_s']}, "
          f"{s['server_cpu_s']}/{s['client_cpu_s']}", flush=True)  # fmt: skip
    for phase in ("batch", "single", "fixed"):
        bad = {k: v for k, v in run[phase]["statuses"].items() if k not in ("200", "202")}
        if bad or run[phase]["failures"]:
            print(f"    {phase}: non-2xx {bad}, failed requests {run[phase]['failures']}")


# --- the suite ----------------------------------------------------------------------------------


def main() -> None:
    args = _args()
    if args.one:
        result_print(run_one(args))
        return
    figures = {}
    for database in args.database.split(","):
        arguments = argv_replace(sys.argv[1:], "--database", database)
        figures[database_label(database)] = child_run(ROOT / "bench" / "ingest_http.py", arguments)
    _table(args, figures)
    from common import django_connect

    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('ingest_http', vars(args), figures)}")


def _table(args, figures: dict) -> None:
    print(f"\nIngest over HTTP (daphne, 1 process), median of {args.repeats} (min-max):")
    print(f"{'database':<11} {'batched events/s':>26} {'single req/s':>22} "
          f"{'p50/p99 at ' + format(args.rate, 'g') + '/s (ms)':>26} {'stored/accepted':>18}")  # fmt: skip
    for label, result in figures.items():
        s = result["summary"]

        def cell(f: dict, fmt: str = ",.0f") -> str:
            return f"{f['median']:{fmt}} ({f['min']:{fmt}}-{f['max']:{fmt}})"

        print(f"{label:<11} {cell(s['batch_events_per_s']):>26} {cell(s['single_requests_per_s']):>22} "
              f"{s['fixed_p50_ms']['median']:>12,.1f} / {s['fixed_p99_ms']['median']:<11,.1f} "
              f"{result['events_stored']:>8,}/{result['events_accepted']:<8,}")  # fmt: skip


if __name__ == "__main__":
    main()
