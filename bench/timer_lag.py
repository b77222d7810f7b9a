"""Timer lag: with M runs waiting, due times spread over one hour of accelerated journey time,
how late does a worker advance each run after it fell due (p50 / p99 / max, in real seconds)?

M runs of a "wait 1 h -> exit" journey are loaded waiting (one real run is enrolled through the
engine; the rest are bulk copies of its state with their own wake-up times, one customer each).
The workspace clock is accelerated so that the hour passes in --hour-seconds real seconds, and
--workers processes run the batch stepping loop until every run ended. A run's lag is the
journey time at which its batch advanced it (its wait step's ``left_at``) minus its wake-up time,
divided by the speed; the batch's own commit time (tenths of a second) comes on top.

Usage: python bench/timer_lag.py --runs 1000000 --hour-seconds 600 [--database postgres://...]
       python bench/timer_lag.py --runs 100000 --hour-seconds 60            # quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from common import ROOT, django_connect, django_setup, results_write

WAIT_GRAPH_NODES = [
    {"id": "trigger", "kind": "trigger.segment", "label": "All", "position": {"x": 0, "y": 0},
     "config": {"filter": {"path": "reachable.sms", "op": "is_true"}}},
    {"id": "wait", "kind": "wait", "label": "1 h", "position": {"x": 240, "y": 0},
     "config": {"mode": "duration", "hours": 1}},
    {"id": "done", "kind": "exit", "label": "Done", "position": {"x": 480, "y": 0},
     "config": {"reason": "woke up"}},
]  # fmt: skip


def _graph() -> dict:
    edges = [("trigger", "out", "wait"), ("wait", "out", "done")]
    return {
        "format": 1, "trigger": {"node": "trigger"}, "goal": None, "exit_conditions": [],
        "entry": {"reentry": "never", "cooldown_hours": 0, "one_active_per_key": False},
        "holdout_percent": 0, "priority": 0, "suppresses": [], "nodes": WAIT_GRAPH_NODES,
        "edges": [{"from": a, "port": p, "to": b} for a, p, b in edges],
    }  # fmt: skip


def load(runs: int, start_delay_s: float, speed: float):
    """Customers, the journey, one enrolled run and ``runs - 1`` copies; returns the ids."""
    import django_q.tasks

    django_q.tasks.async_task = lambda *a, **k: None
    import enginebench as eb

    from console.models import Customer, Workspace
    from journeys.models import EnrolmentJob
    from journeys.services import journey_create, journey_publish
    from journeys.services.enrolment import Enrolment, runs_enrol

    workspace = Workspace.objects.create(slug="lag", name="Timer lag")
    for start in range(0, runs, 10_000):
        Customer.objects.bulk_create(
            Customer(
                workspace=workspace, external_id=f"L{i:08d}", name=f"Lag {i}", phone=f"+918{i:09d}"
            )  # fmt: skip
            for i in range(start, min(runs, start + 10_000))
        )
    t0 = eb.journey_start()
    eb.clock_set(workspace.pk, t0)
    journey = journey_create(workspace=workspace, name="Timer lag", graph=_graph())
    version = journey_publish(journey=journey, note="bench")
    EnrolmentJob.objects.filter(journey=journey).update(status="cancelled")
    version.journey = journey
    first = Customer.objects.filter(workspace=workspace).order_by("id").first()
    run = runs_enrol(version=version, items=[Enrolment(first, "lag:0")], now=t0).runs[0]
    run.refresh_from_db()
    base = start_delay_s * speed
    _copies(run, runs, workspace, t0, base)
    # Fresh statistics, as autovacuum would gather them on a table loaded over hours: without
    # them PostgreSQL plans the batch's per-customer reads as scans of the freshly loaded runs.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return workspace.pk, t0, base


def _copies(template, runs: int, workspace, t0, base_s: float) -> None:
    """Bulk copies of the waiting run, wake-ups spread evenly over one journey hour."""
    from console.models import Customer
    from journeys.models import Run

    ids = list(
        Customer.objects.filter(workspace=workspace).order_by("id").values_list("id", flat=True)
    )
    next_id = template.pk + 1
    for start in range(0, runs, 10_000):
        rows = []
        for i in range(max(start, 0), min(runs, start + 10_000)):
            wake = t0 + timedelta(seconds=base_s + 3600 * i / runs)
            state = dict(template.state, run_id=str(next_id))
            state["wait"] = dict(template.state["wait"], wake_at=wake.isoformat())
            row = Run(id=next_id, workspace_id=workspace.pk, journey_id=template.journey_id,
                      version_id=template.version_id, customer_id=ids[i], status="waiting",
                      node_id="wait", state=state, enrol_key=f"lag:{i}", wake_at=wake,
                      due_at=wake, entered_at=t0, reason=template.reason)  # fmt: skip
            if i == 0:
                row = None
                Run.objects.filter(pk=template.pk).update(
                    wake_at=wake, due_at=wake, state=dict(template.state, wait=dict(
                        template.state["wait"], wake_at=wake.isoformat())))  # fmt: skip
            else:
                next_id += 1
            if row is not None:
                rows.append(row)
        Run.objects.bulk_create(rows, batch_size=2000)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--hour-seconds", type=float, default=60, help="real seconds per hour")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="sqlite", help="sqlite or a postgres:// URL")
    parser.add_argument("--worker", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_STATE"] = "lag-" + ("sqlite" if args.database == "sqlite" else "pg")
    os.environ.setdefault("BENCH_SQLITE", "bench-lag.sqlite3")
    if args.worker >= 0:
        django_connect(args.database)
        import enginebench as eb

        return eb.worker_main(args.worker, args.workspace, None)
    return run(args)


def run(args) -> None:
    django_setup(args.database)
    import enginebench as eb

    from journeys.models import OPEN_RUN_STATUSES, Run

    speed = 3600 / args.hour_seconds
    started = time.perf_counter()
    workspace_id, t0, base_s = load(args.runs, start_delay_s=8.0, speed=speed)
    load_s = time.perf_counter() - started
    eb.state_reset()
    _accelerate(workspace_id, t0, speed)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "timer_lag.py"),
                "--worker",
                str(i),
                "--database",
                args.database,
                "--workspace",
                str(workspace_id),
            ],
            cwd=ROOT,
        )  # fmt: skip
        for i in range(args.workers)
    ]
    try:
        while Run.objects.filter(status__in=OPEN_RUN_STATUSES).exists():
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker ended early")
            time.sleep(0.5)
    finally:
        (eb.STATE_DIR / "stop").write_text("stop")
        for proc in procs:
            proc.wait(timeout=600)
    figures = _figures(args, speed, t0, base_s, load_s)
    print(f"{args.runs:,} waiting runs, one hour in {args.hour_seconds:g}s (x{speed:g}), "
          f"{args.workers} workers: lag p50 {figures['lag_p50_s']:.3f}s, "
          f"p99 {figures['lag_p99_s']:.3f}s, max {figures['lag_max_s']:.3f}s")  # fmt: skip
    print(f"results: {results_write('timer_lag', vars(args), figures)}")


def _accelerate(workspace_id: int, t0, speed: float) -> None:
    from django.utils import timezone

    from journeys.models import EngineSettings

    EngineSettings.objects.filter(workspace_id=workspace_id).update(
        clock_speed=speed, clock_anchor_real=timezone.now(), clock_anchor_journey=t0
    )


def _figures(args, speed, t0, base_s, load_s) -> dict:
    from journeys.models import Run, Step

    keys = dict(Run.objects.values_list("id", "enrol_key"))
    left = dict(Step.objects.filter(node_id="wait").values_list("run_id", "left_at"))
    samples = []
    for run_id, key in keys.items():
        i = int(key.split(":")[1])
        wake = t0 + timedelta(seconds=base_s + 3600 * i / args.runs)
        if run_id in left:
            samples.append(max(0.0, (left[run_id] - wake).total_seconds() / speed))
    samples.sort()

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * (len(samples) - 1)))], 3)

    return {"runs": args.runs, "advanced": len(samples), "speed": speed,
            "due_per_s": round(args.runs / args.hour_seconds, 1), "load_s": round(load_s, 1),
            "lag_p50_s": pct(0.5), "lag_p99_s": pct(0.99), "lag_max_s": round(samples[-1], 3),
            "lag_mean_s": round(statistics.fmean(samples), 3)}  # fmt: skip


if __name__ == "__main__":
    main()
