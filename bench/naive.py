"""The naive way (issue 8 workload 3): the 4-step journey as most Django teams would build it.

One django-q2 task per step, chained: each task loads the run's model row, does its node (a
Message row per send), saves the row and enqueues the next node's task with ``async_task``.
Waits park the run with its due time; a periodic sweep task enqueues the next step of every due
run. Real django-q2 cluster worker processes (``manage.py qcluster``) with the product's
configuration (database broker, persistent connections), on SQLite or PostgreSQL. The model lives
in the bench-only app bench/naive_app (settings: bench/naive_settings.py), never in the product.

The clock, as in the Sangam benchmark: journey time is real time plus an offset the driver moves
forward whenever nothing is queued, to the next due wake-up (plus 10 minutes), and then fires
the sweep (standing in for django-q2's once-a-minute schedule). The simulated provider answers
at once (90 % on WhatsApp, 75 % of delivered messages read; bench/peer_common.py) and its final
status is stored with the message: the naive design does no webhook work, which favours it.

A step is one node executed for one run (5 per run that read, 6 per SMS fallback), as Sangam
counts Step rows. Figures: steps/s and messages/s over the wall time from the first enrolment
task to the last run ended, peak RSS of the cluster.

Usage:
  python bench/naive.py --customers 2000,10000 --workers 1,2 \\
      --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from common import ROOT, results_write
from peer_common import configurations_measure, peer_parser

HERE = ROOT / "bench"
SETTINGS = "naive_settings"
ENROL_CHUNK = 500


def _args(argv=None) -> argparse.Namespace:
    parser = peer_parser(
        __doc__, workers="1,2", workers_help="comma-separated django-q2 worker counts"
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def environment(database: str, workers: int) -> dict:
    """The environment of the driver and the cluster: bench-only settings, scratch database."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)])
    env["Q_WORKERS"] = str(workers)
    env.setdefault("BENCH_SQLITE", "bench-naive.sqlite3")
    env.pop("REDIS_URL", None)  # the database broker, as in Sangam's embedded default
    if database == "sqlite":  # the scratch file, never a DATABASE_URL of the caller's
        env.pop("DATABASE_URL", None)
    return env


# --- one configuration (a child process with the bench-only settings) -------------------------


def run_one(args: argparse.Namespace) -> dict:
    from common import django_setup

    customers, workers = int(args.customers), int(args.workers)
    django_setup(args.database)
    from django_q.models import OrmQ
    from naive_app.models import NaiveClock

    OrmQ.objects.all().delete()
    NaiveClock.objects.create(pk=1, offset_s=0.0)
    cluster = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT, env=environment(args.database, workers),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _cluster_wait(cluster)
        started = time.perf_counter()
        _enqueue("runs_enrol", 0, customers, ENROL_CHUNK)
        jumps = _drive(cluster)
        wall = time.perf_counter() - started
        rss = _cluster_rss_mb(cluster.pid)
    finally:
        cluster.terminate()
        _, err = cluster.communicate(timeout=60)
    return _figures(customers, workers, wall, jumps, rss, err)


def _enqueue(name: str, *args) -> None:
    from django_q.tasks import async_task

    async_task(f"naive_app.tasks.{name}", *args)


def _cluster_wait(cluster: subprocess.Popen, timeout: float = 60) -> None:
    """Enqueue a ping and wait until the cluster has taken it (its workers are up)."""
    from django_q.models import OrmQ

    _enqueue("ping")
    deadline = time.monotonic() + timeout
    while OrmQ.objects.exists():
        if cluster.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"django-q2 cluster did not start: {cluster.stderr.read()[-2000:]}")
        time.sleep(0.05)


def _queue_empty() -> bool:
    """No task queued or running: a task's row stays in the ORM queue until it is acknowledged,
    after it ran (and after it enqueued the next step)."""
    from django_q.models import OrmQ

    if OrmQ.objects.exists():
        return False
    time.sleep(0.05)
    return not OrmQ.objects.exists()


def _drive(cluster: subprocess.Popen) -> int:
    """Move the clock to the next due wait and fire the sweep whenever the queue is empty,
    until every run has ended; returns the number of jumps."""
    from django.db.models import F, Min
    from naive_app.models import NaiveClock, NaiveRun
    from naive_app.tasks import clock_now

    jumps = 0
    while True:
        time.sleep(0.1)
        if cluster.poll() is not None:
            raise RuntimeError(f"django-q2 cluster ended early: {cluster.stderr.read()[-2000:]}")
        if not _queue_empty():
            continue
        if not NaiveRun.objects.exclude(status="ended").exists():
            if NaiveRun.objects.exists():
                return jumps
            continue  # the first enrolment chunk has not committed yet
        wake = NaiveRun.objects.filter(status="waiting").aggregate(m=Min("due_at"))["m"]
        if wake is None:
            raise RuntimeError("open runs with nothing queued and nothing due: the chain broke")
        if wake > clock_now():
            target = wake + timedelta(minutes=10)
            NaiveClock.objects.filter(pk=1).update(
                offset_s=F("offset_s") + (target - clock_now()).total_seconds()
            )
            jumps += 1
        _enqueue("runs_wake_due")


def _cluster_rss_mb(pid: int) -> float:
    """Resident memory of the cluster: the sentinel and its children (workers, pusher, monitor)."""
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)],
                         capture_output=True, text=True).stdout  # fmt: skip
    return round(sum(int(x) for x in out.split()) / 1024, 1)


def _figures(customers, workers, wall, jumps, rss, err) -> dict:
    from django.db.models import Sum
    from naive_app.models import NaiveMessage, NaiveRun
    from peer_common import expected_messages, expected_steps, run_report

    steps = NaiveRun.objects.aggregate(s=Sum("steps"))["s"] or 0
    messages = NaiveMessage.objects.count()
    if steps != expected_steps(range(customers)) or messages != expected_messages(range(customers)):
        sys.stderr.write(err[-4000:])
        raise RuntimeError(f"naive run incomplete: {steps} steps, {messages} messages")
    from django_q.models import Failure

    return run_report(
        peer="naive", customers=customers, workers=workers, steps=steps, messages=messages,
        wall_s=wall, clock_jumps=jumps, cluster_rss_mb=rss, failed_tasks=Failure.objects.count(),
    )  # fmt: skip


# --- the suite --------------------------------------------------------------------------------


def child_run(database: str, customers: int, workers: int) -> dict:
    """One configuration in a fresh process (Django set up on a reset scratch database)."""
    command = [sys.executable, str(HERE / "naive.py"), "--one", "--database", database,
               "--customers", str(customers), "--workers", str(workers)]  # fmt: skip
    out = subprocess.run(
        command, cwd=ROOT, env=environment(database, workers), capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"naive benchmark failed for {database} {customers} x{workers}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    args = _args(argv)
    if args.one:
        print(json.dumps(run_one(args)))
        return
    figures = configurations_measure("naive", args, child_run)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    from common import django_connect

    os.environ.setdefault("BENCH_SQLITE", "bench-naive.sqlite3")
    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('naive', vars(args), figures)}")


if __name__ == "__main__":
    main()
