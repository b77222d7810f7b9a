"""Engine throughput: N customers through the 4-step journey of issue 8, end to end.

The journey: segment trigger -> WhatsApp reminder -> wait 1 h -> wait for "read" (24 h timeout)
-> SMS on timeout. Customers have WhatsApp and SMS consent; the simulator answers at once (90%
of WhatsApp numbers reachable, 75% of delivered messages read), so about a third of the runs take
the SMS fallback. Publishing the journey starts its segment enrolment; then --workers real
processes each loop over the services the tasks call (enrolment chunks, batch stepping, outbox
dispatch, the simulator's outcomes, outcome events) against the same database, while this driver
advances the journey clock past each wait whenever the pipeline is idle, until every run ended.

Figures: steps/s (Step rows / wall time), messages/s, wall time, peak RSS per worker, database
bytes per run, the time each worker spent per phase, and the engine's steps/s as a fraction of
the database limit (bench/db_limit.py) measured in the same run. After the run, the incremental
rollup job folds in everything it wrote: its steps/s over the engine's says whether the
dashboards keep up (issue 7).

Usage:
  python bench/engine_throughput.py --customers 10000,100000 --workers 1,2 \\
      --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench [--repeats 3]
  python bench/engine_throughput.py --customers 2000 --profile var/engine.prof   # cProfile
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from common import ROOT, results_write, spread

HERE = ROOT / "bench"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", default="10000", help="comma-separated sizes")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument(
        "--database", default="sqlite", help="comma-separated: sqlite, postgres URLs"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration (median)")
    parser.add_argument("--profile", default="", help="cProfile worker 0 into this file")
    parser.add_argument("--limit-seconds", type=float, default=1.0, help="per db_limit sample")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--job", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


# --- one configuration (a child process: Django is set up once per database reset) ------------


def run_one(args: argparse.Namespace) -> dict:
    from common import cpu_times, cpu_used, db_size_bytes, django_setup

    django_setup(args.database)
    import enginebench as eb

    from channels_app.models.outbox import Message
    from journeys.models import Run, Step

    customers, workers = int(args.customers), int(args.workers)
    eb.state_reset()
    _no_tasks()
    load_start = time.perf_counter()
    workspace = eb.workspace_prepare(customers)
    load_s = time.perf_counter() - load_start
    eb.clock_set(workspace.pk, eb.journey_start())
    _vacuum()
    size_before = db_size_bytes()
    journey, job = eb.journey_publish_4step(workspace)
    started, cpu_before = time.perf_counter(), cpu_times()
    procs = [_spawn_worker(args, i, workspace.pk, job.pk) for i in range(workers)]
    try:
        jumps = eb.drive(workspace.pk, workers, procs, jump_past=timedelta(minutes=10))
        wall = time.perf_counter() - started
        cpu = cpu_used(cpu_before)
    finally:
        (eb.STATE_DIR / "stop").write_text("stop")
        for proc in procs:
            proc.wait(timeout=600)
    reports = [json.loads((eb.STATE_DIR / f"report-{i}.json").read_text()) for i in range(workers)]
    _vacuum()
    steps, messages, runs = Step.objects.count(), Message.objects.count(), Run.objects.count()
    size_after = db_size_bytes()
    rollups = _rollups_absorb(steps, wall)
    return {
        "customers": customers, "workers": workers, "runs": runs, "steps": steps,
        "messages": messages, "wall_s": round(wall, 2), "load_s": round(load_s, 1),
        "steps_per_s": round(steps / wall, 1), "messages_per_s": round(messages / wall, 1),
        "db_bytes_per_run": round((size_after - size_before) / max(runs, 1)),
        # The whole machine's busy CPU (workers, database, driver) per 1,000 steps: steadier
        # than steps/s between runs on a shared machine, and the figure code changes move.
        "cpu_ms_per_1k_steps": round(1e6 * cpu["cpu_busy_s"] / max(steps, 1)) if cpu else None,
        "cpu_busy_share": cpu.get("cpu_busy_share"),
        "peak_rss_mb": [r["peak_rss_mb"] for r in reports],
        "phase_seconds": _sum_phases(reports), "clock_jumps": len(jumps),
        "outcomes": _outcomes(), "rollups": rollups,
    }  # fmt: skip


def _rollups_absorb(steps: int, wall: float) -> dict:
    """After the engine stopped: the incremental rollup job (issue 7) folds in everything the
    run wrote (runs, steps, messages, status changes, events, consent), from empty watermarks.
    Its steps/s against the engine's says whether dashboards keep up with the engine."""
    from analytics.rollups import rollups_update

    start = time.perf_counter()
    rows = rollups_update()
    seconds = max(time.perf_counter() - start, 1e-6)
    return {
        "source_rows": rows, "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds, 1), "steps_per_s": round(steps / seconds, 1),
        "vs_engine": round(wall / seconds, 2),
    }  # fmt: skip


def _no_tasks() -> None:
    """In the driver: django-q2 is not running, and publishing must not enqueue to its broker."""
    import django_q.tasks

    django_q.tasks.async_task = lambda *a, **k: None


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            cursor.execute("ANALYZE")


def _spawn_worker(args, index: int, workspace_id: int, job_id: int) -> subprocess.Popen:
    command = [sys.executable, str(HERE / "engine_throughput.py"), "--worker", str(index),
               "--database", args.database, "--workspace", str(workspace_id),
               "--job", str(job_id)]  # fmt: skip
    if args.profile and index == 0:
        command += ["--profile", args.profile]
    return subprocess.Popen(command, cwd=ROOT)


def _sum_phases(reports: list[dict]) -> dict:
    total: dict[str, float] = {}
    for report in reports:
        for name, seconds in report["seconds"].items():
            total[name] = round(total.get(name, 0.0) + seconds, 2)
    return total


def _outcomes() -> dict:
    from django.db.models import Count

    from journeys.models import Run

    rows = Run.objects.values("status", "node_id").annotate(n=Count("id"))
    return {f"{r['status']}@{r['node_id']}": r["n"] for r in rows}


def worker(args: argparse.Namespace) -> None:
    from common import django_connect

    django_connect(args.database)
    import enginebench as eb

    eb.worker_main(args.worker, args.workspace, args.job or None, args.profile)


# --- the suite --------------------------------------------------------------------------------


def _child(args, database: str, customers: int, workers: int) -> dict:
    # One state folder per scratch database, so that runs on different files never meet.
    label = Path(os.environ.get("BENCH_SQLITE", "bench.sqlite3")).stem
    os.environ["BENCH_STATE"] = f"sqlite-{label}" if database == "sqlite" else "postgresql"
    command = [sys.executable, str(HERE / "engine_throughput.py"), "--one", "--database", database,
               "--customers", str(customers), "--workers", str(workers)]  # fmt: skip
    if args.profile:
        command += ["--profile", args.profile]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"engine benchmark failed for {database} {customers} x{workers}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _limit(database: str, seconds: float) -> dict:
    from db_limit import limits

    return limits(database, seconds=seconds, repeats=3)


def main() -> None:
    args = _args()
    if args.worker >= 0:
        return worker(args)
    if args.one:
        print(json.dumps(run_one(args)))
        return None
    table, figures = [], {}
    for database in args.database.split(","):
        label = "sqlite" if database == "sqlite" else "postgresql"
        limit = _limit(database, args.limit_seconds)
        figures[f"{label} limit"] = limit
        for customers in [int(c) for c in args.customers.split(",")]:
            for workers in [int(w) for w in args.workers.split(",")]:
                runs = [_child(args, database, customers, workers) for _ in range(args.repeats)]
                key = f"{label} {customers} x{workers}"
                figures[key] = _summary(runs, limit)
                table.append((key, figures[key]))
                _print_row(key, figures[key])
    from common import django_connect

    django_connect(args.database.split(",")[0])  # for the machine facts in the results
    path = results_write("engine_throughput", vars(args), figures)
    print(f"results: {path}")
    return None


def _summary(runs: list[dict], limit: dict) -> dict:
    steps = spread([r["steps_per_s"] for r in runs])
    single = limit["single_row_tx_per_s"]["median"]
    batched = limit["batched_rows_per_s"]["median"]
    middle = sorted(runs, key=lambda r: r["steps_per_s"])[len(runs) // 2]
    return {
        "steps_per_s": steps, "messages_per_s": spread([r["messages_per_s"] for r in runs]),
        "wall_s": spread([r["wall_s"] for r in runs]),
        "vs_single_row_tx": round(steps["median"] / single, 2),
        "vs_batched_insert": round(steps["median"] / batched, 3),
        "peak_rss_mb": max(max(r["peak_rss_mb"]) for r in runs),
        "db_bytes_per_run": statistics.median(r["db_bytes_per_run"] for r in runs),
        "rollups_steps_per_s": spread([r["rollups"]["steps_per_s"] for r in runs]),
        "rollups_vs_engine": spread([r["rollups"]["vs_engine"] for r in runs]),
        "median_run": middle,
    }  # fmt: skip


def _print_row(key: str, f: dict) -> None:
    s = f["steps_per_s"]
    print(f"{key:<28} steps/s {s['median']:>8,.0f} (min {s['min']:,.0f} max {s['max']:,.0f})  "
          f"msgs/s {f['messages_per_s']['median']:>7,.0f}  wall {f['wall_s']['median']:>7.1f}s  "
          f"x1-row-tx {f['vs_single_row_tx']:.2f}  rss {f['peak_rss_mb']:.0f} MB  "
          f"{f['db_bytes_per_run']:,.0f} B/run", flush=True)  # fmt: skip
    m = f["median_run"]
    print(f"    phases (s): {m['phase_seconds']}", flush=True)
    if m.get("cpu_ms_per_1k_steps") is not None:
        print(f"    machine CPU: {m['cpu_ms_per_1k_steps']:,} ms per 1,000 steps, "
              f"{100 * m['cpu_busy_share']:.0f}% busy", flush=True)  # fmt: skip
    r = f["rollups_steps_per_s"]["median"]
    print(f"    rollup job after the run: {r:,.0f} steps/s = "
          f"{f['rollups_vs_engine']['median']:.2f}x the engine", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
