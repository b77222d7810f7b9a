"""What the engine benchmarks share: the 4-step journey, a loaded workspace, the worker loop, and
the driver that advances the engine's clock.

The clock: every process reads journey time from the workspace's EngineSettings anchors (speed 1,
so journey time runs at real pace from the anchor). The driver moves the anchor forward, which is
how the benchmark "advances the clock" across the 1 h wait and the 24 h read timeout, for the
workers in other processes too. The simulator is set to answer at once (no real-time delays) so
that its outcomes land at the journey time of the send.

Django-q2 is not started: each worker runs the same services the tasks call, in one loop
(segment enrolment chunks, ``runs_advance_due`` batches, ``outbox_dispatch``, the simulator's due
outcomes, and ``events_process`` for the outcome events its own commits produced, one call per
loop turn, as a task that carries a batch would).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import ROOT

IST = ZoneInfo("Asia/Kolkata")
# Per database, so that a SQLite and a PostgreSQL benchmark may run side by side.
STATE_DIR = ROOT / "var" / f"bench-engine-{os.environ.get('BENCH_STATE', 'default')}"
SIMULATOR = {
    "seed": 7, "sent_s": 0, "sms_delivery_s": 0, "whatsapp_delivery_s": 0, "whatsapp_read_s": 0,
    "whatsapp_reply_s": 0, "jitter": 0, "whatsapp_button": 0, "whatsapp_replied": 0,
}  # fmt: skip


def four_step_graph() -> dict:
    """Segment trigger -> WhatsApp -> wait 1 h -> wait for "read" (24 h) -> SMS on timeout."""

    def node(node_id, kind, col, **config):
        return {"id": node_id, "kind": kind, "config": config, "label": node_id,
                "position": {"x": 80 + col * 240, "y": 120}}  # fmt: skip

    nodes = [
        node("trigger", "trigger.segment", 0, filter={"path": "reachable.sms", "op": "is_true"}),
        node("whatsapp", "send", 1, channel="whatsapp", template="payment_reminder_whatsapp",
             purpose="service"),
        node("wait_1h", "wait", 2, mode="duration", hours=1),
        node("wait_read", "wait_for", 3, outcome="read", message_node="whatsapp", hours=24),
        node("sms", "send", 4, channel="sms", template="payment_reminder_sms", purpose="service"),
        node("read", "exit", 4, reason="read the WhatsApp reminder"),
        node("done", "exit", 5, reason="reminded by SMS"),
    ]  # fmt: skip
    edges = [
        ("trigger", "out", "whatsapp"),
        *[("whatsapp", port, "wait_1h") for port in ("sent", "skipped", "failed")],
        ("wait_1h", "out", "wait_read"),
        ("wait_read", "matched", "read"),
        ("wait_read", "timeout", "sms"),
        *[("sms", port, "done") for port in ("sent", "skipped", "failed")],
    ]
    return {
        "format": 1, "trigger": {"node": "trigger"}, "goal": None, "exit_conditions": [],
        "entry": {"reentry": "never", "cooldown_hours": 0, "one_active_per_key": False},
        "holdout_percent": 0, "priority": 0, "suppresses": [], "nodes": nodes,
        "edges": [{"from": a, "port": p, "to": b} for a, p, b in edges],
    }  # fmt: skip


def journey_start() -> datetime:
    """10:00 IST tomorrow: the whole journey (to 11:00 the day after) is inside sending hours."""
    from django.utils import timezone

    day = (timezone.now().astimezone(IST) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=IST)


def clock_set(workspace_id: int, journey_now: datetime) -> None:
    """Journey time is ``journey_now`` at this real instant and runs at real pace from there."""
    from django.utils import timezone

    from journeys.models import EngineSettings

    EngineSettings.objects.update_or_create(
        workspace_id=workspace_id,
        defaults={"clock_speed": 1.0, "clock_anchor_real": timezone.now(),
                  "clock_anchor_journey": journey_now},
    )  # fmt: skip


def customers_load(workspace, n: int, chunk: int = 5000) -> None:
    """``n`` WhatsApp customers with SMS and WhatsApp service consent (ledger rows in bulk)."""
    from django.utils import timezone

    from channels_app.models.consent import ConsentEntry
    from console.models import Customer

    at = timezone.now() - timedelta(days=1)
    for start in range(0, n, chunk):
        rows = [
            Customer(
                workspace=workspace,
                external_id=f"B{i:08d}",
                name=f"Priya Bench{i}",
                name_key=f"priya bench{i}",
                phone=f"+919{i:09d}",
                whatsapp=True,
                attributes={
                    "loan_id": f"LN{i}",
                    "emi_amount": "8450",
                    "emi_due_date": "2031-12-10",
                },
            )  # fmt: skip
            for i in range(start, min(n, start + chunk))
        ]
        made = Customer.objects.bulk_create(rows)
        ConsentEntry.objects.bulk_create(
            [
                ConsentEntry(
                    workspace=workspace,
                    customer=c,
                    channel=channel,
                    purpose="service",
                    status="granted",
                    source="form",
                    proof="bench",
                    actor_label="bench",
                    at=at,
                )  # fmt: skip
                for c in made
                for channel in ("whatsapp", "sms")
            ],
            batch_size=5000,
        )


def workspace_prepare(n: int):
    """A workspace with templates, an instant simulator and ``n`` consenting customers."""
    from channels_app.providers_console.services import simulator_settings
    from channels_app.tmpl.demo import demo_templates_seed
    from console.models import Workspace
    from journeys.demo import engine_templates_seed

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    demo_templates_seed(workspace)
    engine_templates_seed(workspace)
    settings = simulator_settings(workspace=workspace)
    settings.config = dict(SIMULATOR)
    settings.save(update_fields=["config"])
    customers_load(workspace, n)
    return workspace


def journey_publish_4step(workspace):
    """Create and publish the 4-step journey: publishing starts its segment enrolment job."""
    from journeys.models import EnrolmentJob
    from journeys.services import journey_create, journey_publish

    journey = journey_create(workspace=workspace, name="Bench: 4 steps", graph=four_step_graph())
    journey_publish(journey=journey, note="bench")
    return journey, EnrolmentJob.objects.get(journey=journey)


# --- the worker -----------------------------------------------------------------------------------


class Tasks:
    """Stands in for django-q2's ``async_task`` inside a worker: event batches are kept for the
    loop (one ``events_process`` call per turn); outbox kicks are dropped (the loop dispatches)."""

    def __init__(self) -> None:
        self.event_ids: list[int] = []

    def __call__(self, func: str, *args, **kwargs) -> None:
        if func.endswith("events_process_task"):
            self.event_ids.extend(args[0])

    def take(self) -> list[int]:
        taken, self.event_ids = self.event_ids, []
        return taken


class Phases:
    """Seconds spent per phase of the worker loop, and how much each did."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.done: dict[str, int] = {}

    def run(self, name: str, fn) -> int:
        start = time.perf_counter()
        done = fn() or 0
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        self.done[name] = self.done.get(name, 0) + done
        return done


def worker_turn(tasks: Tasks, phases: Phases, workspace_id: int, job_id: int | None) -> int:
    """One loop turn; returns how much work it found (0: idle)."""
    from channels_app.outbox.dispatch import outbox_dispatch
    from channels_app.outbox.simulated import simulated_outcomes_deliver
    from journeys.clock import clock_now
    from journeys.services.enrolment import events_process
    from journeys.services.segments import segment_enrolment_step
    from journeys.services.stepping import runs_advance_due

    found = 0
    if job_id is not None:
        found += phases.run("enrol", lambda: 1000 if segment_enrolment_step(job_id) else 0)
    found += phases.run("advance", runs_advance_due)
    now = clock_now(workspace_id)
    found += phases.run("dispatch", lambda: outbox_dispatch(now=now)["sent"])
    found += phases.run("simulator", lambda: simulated_outcomes_deliver(now=now))
    while ids := tasks.take():
        found += len(ids)
        for start in range(0, len(ids), 500):
            phases.run("events", lambda c=ids[start : start + 500]: events_process(event_ids=c))
    return found


def worker_main(index: int, workspace_id: int, job_id: int | None, profile: str = "") -> None:
    """Loop until the driver writes the stop file; report phases and peak memory at the end."""
    import django_q.tasks
    from common import peak_rss_mb

    tasks = Tasks()
    django_q.tasks.async_task = tasks
    phases = Phases()
    stop, idle = STATE_DIR / "stop", STATE_DIR / f"idle-{index}"
    profiler = _profiler_start(profile)
    job = job_id
    while not stop.exists():
        began = time.time()
        found = worker_turn(tasks, phases, workspace_id, job)
        if job is not None and phases.done.get("enrol", 0) and not _job_running(job):
            job = None
        if not found:
            idle.write_text(str(began))
            time.sleep(0.05)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    report = {"index": index, "pid": os.getpid(), "peak_rss_mb": peak_rss_mb(),
              "seconds": phases.seconds, "done": phases.done}  # fmt: skip
    (STATE_DIR / f"report-{index}.json").write_text(json.dumps(report))


def _job_running(job_id: int) -> bool:
    from journeys.models import EnrolmentJob

    return EnrolmentJob.objects.filter(pk=job_id, status="running").exists()


def _profiler_start(path: str):
    if not path:
        return None
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


# --- the driver -----------------------------------------------------------------------------------


def state_reset() -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    for path in STATE_DIR.iterdir():
        path.unlink()


def busy(workspace_id: int) -> bool:
    """Is any work due now (journey time) anywhere in the pipeline? Each check is an indexed
    EXISTS that stops at the first row, taken in turn until one finds work: the driver polls
    this while the workers run, so it must cost next to nothing (counting the due rows of a
    100,000-run pipeline ten times a second took a tenth of a core from the workers)."""
    from channels_app.models.outbox import PENDING_STATUSES, Message, SimulatedOutcome
    from journeys.clock import clock_now
    from journeys.models import EnrolmentJob, Run

    now = clock_now(workspace_id)
    checks = (
        lambda: Run.objects.filter(due_at__lte=now).exists(),
        lambda: Message.objects.filter(status__in=PENDING_STATUSES, due_at__lte=now).exists(),
        lambda: SimulatedOutcome.objects.filter(delivered_at__isnull=True, due_at__lte=now)
        .exists(),
        lambda: EnrolmentJob.objects.filter(status="running").exists(),
    )  # fmt: skip
    # Queued run inputs need no check of their own: an input is work now only when its run is
    # due (the first check); the others wait for their run's wake-up.
    return any(check() for check in checks)


def workers_idle_since(workers: int, since: float) -> bool:
    for index in range(workers):
        path = STATE_DIR / f"idle-{index}"
        try:
            if float(path.read_text() or 0) <= since:
                return False
        except (FileNotFoundError, ValueError):
            return False
    return True


def quiescent(workspace_id: int, workers: int, procs) -> bool:
    """Nothing due now and every worker has since finished a turn that found nothing."""
    since = time.time()
    if busy(workspace_id):
        return False
    while not workers_idle_since(workers, since):
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker process ended early; see its output")
        time.sleep(0.02)
    return not busy(workspace_id)


def next_wake(workspace_id: int) -> datetime | None:
    from journeys.models import OPEN_RUN_STATUSES, Run

    return (
        Run.objects.filter(status__in=OPEN_RUN_STATUSES, due_at__isnull=False)
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


# PostgreSQL's autovacuum analyzes a table once about a tenth of it changed (checked every
# minute); the CI server here runs with autovacuum off, so the driver does it, or every plan of a
# long run stays the one made for empty tables (a claim by id then walked the whole due index).
ANALYZE_EVERY_S = 30.0
ANALYZED_TABLES = ("journeys_run", "journeys_step", "journeys_runinput", "channels_app_message",
                   "channels_app_messagestatuschange", "channels_app_simulatedoutcome",
                   "console_event")  # fmt: skip


def statistics_refresh() -> None:
    """What autovacuum's analyze does on a live PostgreSQL (nothing on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(ANALYZED_TABLES))


def drive(workspace_id: int, workers: int, procs, jump_past: timedelta) -> list[dict]:
    """Advance the clock to the next wake-up whenever the pipeline is idle, until no run is
    open; returns the jumps made (for the report)."""
    from journeys.clock import clock_now
    from journeys.models import OPEN_RUN_STATUSES, Run

    jumps = []
    analyzed = time.monotonic()
    while True:
        time.sleep(0.1)
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker process ended early; see its output")
        if time.monotonic() - analyzed > ANALYZE_EVERY_S:
            statistics_refresh()
            analyzed = time.monotonic()
        if not quiescent(workspace_id, workers, procs):
            continue
        wake = next_wake(workspace_id)
        if wake is None:
            if not Run.objects.filter(status__in=OPEN_RUN_STATUSES).exists():
                return jumps
            raise RuntimeError("open runs with nothing to wake them: the pipeline is stuck")
        target = max(wake, clock_now(workspace_id)) + jump_past
        clock_set(workspace_id, target)
        jumps.append({"to": target.isoformat(), "at_s": time.time()})


def sqlite_path() -> Path:
    from django.db import connection

    return Path(str(connection.settings_dict["NAME"]))
