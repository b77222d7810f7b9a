"""SpiffWorkflow peer (issue 8 workload 4): the 4-step journey as a BPMN process, its state
serialised to the benchmark's database after every step.

bench/peer_reminder.bpmn: start (trigger) -> script task "whatsapp" -> timer PT1H -> event-based
gateway (message "read" | timer PT24H) -> end "read", or script task "sms" -> end "done". Each
run is one BpmnWorkflow; after each of the journey's nodes completes, the whole workflow is
serialised (``BpmnWorkflowSerializer.serialize_json``, the library's documented way, spec
included) and written to its row in one transaction together with the message row of a send;
waiting runs are parked with their due time and loaded, deserialised and advanced when due. The
simulated provider answers at once and its status is kept on the run row (what a webhook
handler would store); when the run reaches the gateway and the message was read, the "read"
message event is delivered to the workflow.

Time: SpiffWorkflow's timers read ``datetime.now``; the benchmark gives them a fake clock (real
time plus an offset) that each worker moves to its next due run (plus 10 minutes) when nothing
is due, as the Sangam benchmark's driver does. SQLite in WAL mode with synchronous=NORMAL,
PostgreSQL with its defaults, as Sangam. ``--workers`` processes split the customers by id.

Needs the bench extra: pip install -e ".[bench]".

Usage:
  python bench/peer_spiff.py --customers 2000,10000 --workers 1 \\
      --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta
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
BPMN = HERE / "peer_reminder.bpmn"
STATE_DIR = ROOT / "var" / f"bench-spiff-{os.environ.get('BENCH_STATE', 'default')}"
COUNTED = {"trigger", "whatsapp", "wait_1h", "wait_read", "read", "sms", "done"}
BATCH = 500
TABLES = (
    "CREATE TABLE spiff_run (customer integer PRIMARY KEY, state text NOT NULL, "
    "status varchar(16) NOT NULL, due_at double precision, steps integer NOT NULL, "
    "wa_status varchar(16) NOT NULL DEFAULT '')",
    "CREATE INDEX spiff_run_due ON spiff_run (status, due_at)",
    "CREATE TABLE spiff_message (id {pk}, customer integer NOT NULL, channel varchar(16) NOT NULL,"
    " status varchar(16) NOT NULL, body text NOT NULL, created_at double precision NOT NULL)",
)


def _args(argv=None) -> argparse.Namespace:
    parser = peer_parser(__doc__, workers="1", workers_help="comma-separated process counts")
    parser.add_argument("--part", type=int, default=-1, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def sqlite_path():
    return ROOT / "var" / os.environ.get("BENCH_SQLITE", "bench-spiff.sqlite3")


# --- the fake clock ---------------------------------------------------------------------------


class Clock:
    """Journey time as epoch seconds: real time plus an offset this worker moves forward."""

    offset = 0.0

    @classmethod
    def now(cls) -> float:
        return time.time() + cls.offset


class _FakeDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(seconds=Clock.offset)


def clock_install() -> None:
    import SpiffWorkflow.bpmn.specs.event_definitions.timer as timer

    timer.datetime = _FakeDatetime


# --- one worker -------------------------------------------------------------------------------


class Worker:
    """Advances this worker's runs; every counted node ends in one committed transaction."""

    def __init__(self, store: Store) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec("reminder")
        self.engine = PythonScriptEngine(environment=TaskDataEnvironment({"send": self.send}))
        self.serializer = BpmnWorkflowSerializer()
        self.store = store
        self.outbox: list[tuple] = []
        self.steps = self.messages = 0
        self.saved: tuple | None = None  # (status, due) last written for the current run

    def send(self, channel: str, customer: int) -> str:
        """The simulated provider: answers at once; the row is written with the step."""
        status = whatsapp_outcome(customer) if channel == "whatsapp" else "delivered"
        body = (WHATSAPP_BODY if channel == "whatsapp" else SMS_BODY).format(
            name=f"Priya Bench{customer}", i=customer
        )
        self.outbox.append((customer, channel, status, body, Clock.now()))
        return status

    def run_start(self, customer: int) -> None:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        workflow = BpmnWorkflow(self.spec, script_engine=self.engine)
        workflow.get_tasks(state=TaskState.READY)[0].data["customer"] = customer
        self.saved = None
        self._advance(workflow, customer)

    def run_wake(self, customer: int, state: str, wa_status: str) -> None:
        workflow = self.serializer.deserialize_json(state)
        workflow.script_engine = self.engine
        self.saved = ("waiting", "loaded")
        workflow.refresh_waiting_tasks()
        self._advance(workflow, customer, wa_status)

    def _advance(self, workflow, customer: int, wa_status: str = "") -> None:
        from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
        from SpiffWorkflow.bpmn.util.event import BpmnEvent

        def did_complete(task) -> None:
            if task.task_spec.bpmn_id in COUNTED:
                self._save(workflow, customer, task.task_spec.bpmn_id)

        workflow.do_engine_steps(did_complete_task=did_complete)
        read = wa_status == "read" or any(m[2] == "read" for m in self.outbox)
        if read and self._waiting_at(workflow, "wait_read"):
            workflow.catch(BpmnEvent(MessageEventDefinition("read"), {}))
            workflow.do_engine_steps(did_complete_task=did_complete)
        if self.saved != self._where(workflow):  # parked at a wait since the last step
            self._save(workflow, customer, None)

    @staticmethod
    def _waiting_at(workflow, bpmn_id: str) -> bool:
        from SpiffWorkflow.util.task import TaskState

        return any(
            t.task_spec.bpmn_id == bpmn_id for t in workflow.get_tasks(state=TaskState.WAITING)
        )

    @staticmethod
    def _where(workflow) -> tuple:
        """(status, due epoch seconds) of the workflow now."""
        from SpiffWorkflow.util.task import TaskState

        if workflow.is_completed():
            return ("ended", None)
        dues = [
            datetime.fromisoformat(t.internal_data["event_value"]).timestamp()
            for t in workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(t.internal_data.get("event_value"), str)
        ]
        return ("waiting", min(dues)) if dues else ("active", None)

    def _save(self, workflow, customer: int, node: str | None) -> None:
        """One transaction: the serialised workflow, its status and due time, the sends."""
        status, due = self._where(workflow)
        if node in ("read", "done"):
            status, due = "ended", None
        state = self.serializer.serialize_json(workflow)
        step = 1 if node else 0
        store, sent = self.store, self.outbox
        store.begin()
        for row in sent:
            store.execute("INSERT INTO spiff_message (customer, channel, status, body, "
                          "created_at) VALUES (?, ?, ?, ?, ?)", row)  # fmt: skip
        wa = next((row[2] for row in sent if row[1] == "whatsapp"), None)
        if node == "trigger":
            store.execute("INSERT INTO spiff_run (customer, state, status, due_at, steps) "
                          "VALUES (?, ?, ?, ?, 1)", (customer, state, status, due))  # fmt: skip
        else:
            store.execute("UPDATE spiff_run SET state = ?, status = ?, due_at = ?, "
                          "steps = steps + ?, wa_status = COALESCE(?, wa_status) "
                          "WHERE customer = ?", (state, status, due, step, wa, customer))  # fmt: skip
        store.commit()
        self.steps += step
        self.messages += len(sent)
        self.outbox = []
        self.saved = (status, due)

    def due_batch(self, part: int, workers: int) -> list[tuple]:
        return self.store.execute(
            "SELECT customer, state, wa_status FROM spiff_run WHERE status = 'waiting' "
            "AND due_at <= ? AND customer % ? = ? ORDER BY due_at LIMIT ?",
            (Clock.now(), workers, part, BATCH),
        )

    def next_due(self, part: int, workers: int) -> float | None:
        rows = self.store.execute(
            "SELECT MIN(due_at) FROM spiff_run WHERE status = 'waiting' AND customer % ? = ?",
            (workers, part),
        )
        return rows[0][0]


def part_main(args: argparse.Namespace) -> None:
    """One worker process: enrol its customers, then advance due runs until all have ended."""
    clock_install()
    customers, workers, part = int(args.customers), int(args.workers), args.part
    worker = Worker(Store(args.database, sqlite_path()))
    part_ready_wait(STATE_DIR, part)
    began = time.time()
    for customer in range(part, customers, workers):
        worker.run_start(customer)
    while True:
        rows = worker.due_batch(part, workers)
        if not rows:
            due = worker.next_due(part, workers)
            if due is None:
                break
            Clock.offset += max(0.0, due - Clock.now()) + 600
            continue
        for customer, state, wa_status in rows:
            worker.run_wake(customer, state, wa_status)
    ended = time.time()
    print(json.dumps({"began": began, "ended": ended, "steps": worker.steps,
                      "messages": worker.messages, "peak_rss_mb": peak_rss_mb()}))  # fmt: skip


# --- the driver -------------------------------------------------------------------------------


def tables_reset(database: str) -> None:
    if database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path()}{suffix}").unlink(missing_ok=True)
    store = Store(database, sqlite_path())
    pk = "integer PRIMARY KEY" if store.sqlite else "bigserial PRIMARY KEY"
    for table in ("spiff_message", "spiff_run"):
        store.execute(f"DROP TABLE IF EXISTS {table}")
    for ddl in TABLES:
        store.execute(ddl.format(pk=pk))
    store.close()


def measure(database: str, customers: int, workers: int) -> dict:
    """One run of the peer on a reset database; the report bench/peers.py compares."""
    tables_reset(database)
    argv = ["--database", database, "--customers", str(customers)]
    reports = parts_run(HERE / "peer_spiff.py", argv, workers, STATE_DIR)
    store = Store(database, sqlite_path())
    size = store.execute("SELECT SUM(LENGTH(state)), COUNT(*) FROM spiff_run")[0]
    store.close()
    return parts_merge("spiff", customers, reports, state_bytes_per_run=round(size[0] / size[1]))


def main(argv=None) -> None:
    args = _args(argv)
    if args.part >= 0:
        return part_main(args)
    figures = configurations_measure("spiff", args, measure)
    from common import django_connect

    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('peer_spiff', vars(args), figures)}")
    return None


if __name__ == "__main__":
    sys.exit(main())
