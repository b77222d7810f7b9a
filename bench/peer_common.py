"""What every peer of the engine benchmark shares: the journey's outcomes, the step count, and
the report shape, so that Sangam, the naive design, SpiffWorkflow and DBOS run the same work.

The 4-step journey (as bench/enginebench.py builds it for Sangam): trigger -> WhatsApp -> wait
1 h -> wait for "read" (24 h timeout) -> exit "read", or SMS -> exit "done". A step is one node
executed for one run, as Sangam counts its Step rows: 5 for a run that read the WhatsApp
message (trigger, whatsapp, wait_1h, wait_read, read), 6 for one that fell back to SMS
(..., sms, done). The simulated provider answers at once: 90 % of numbers are on WhatsApp and 75 %
of delivered messages are read, decided per customer by a seeded draw so every peer sees the
same outcome for the same customer.
"""

from __future__ import annotations

import argparse
import random

from common import spread

HOUR_S = 3600.0
READ_TIMEOUT_S = 24 * HOUR_S
WHATSAPP_REACHABLE = 0.90
READ_SHARE = 0.75
STEPS_READ, STEPS_SMS = 5, 6
WHATSAPP_BODY = (
    "Namaste {name}, your EMI of Rs 8,450 for loan LN{i} is due on 10 Dec. Pay: upi://pay"
)
SMS_BODY = "EMI Rs 8,450 for loan LN{i} due 10 Dec. Pay via UPI. -Bench Finance"


def whatsapp_outcome(customer: int) -> str:
    """The simulated provider's final status for this customer's WhatsApp: read, delivered or
    failed (not on WhatsApp)."""
    draw = random.Random(customer * 7919 + 7)
    if draw.random() >= WHATSAPP_REACHABLE:
        return "failed"
    return "read" if draw.random() < READ_SHARE else "delivered"


def expected_steps(customers: range) -> int:
    """Steps every run of these customers makes, for checking a peer did all the work."""
    return sum(STEPS_READ if whatsapp_outcome(c) == "read" else STEPS_SMS for c in customers)


def expected_messages(customers: range) -> int:
    return sum(1 if whatsapp_outcome(c) == "read" else 2 for c in customers)


def run_report(
    *, peer: str, customers: int, workers: int, steps: int, messages: int, wall_s: float, **extra
) -> dict:
    """One peer run, in the shape bench/peers.py compares with Sangam's."""
    return {
        "peer": peer,
        "customers": customers,
        "workers": workers,
        "steps": steps,
        "messages": messages,
        "wall_s": round(wall_s, 2),
        "steps_per_s": round(steps / wall_s, 1),
        "messages_per_s": round(messages / wall_s, 1),
        **extra,
    }


# --- the peers' own tables, through the driver (no Django) -----------------------------------


class Store:
    """One raw connection to the benchmark's database with Sangam's durability settings: SQLite
    in WAL mode with synchronous=NORMAL and immediate transactions; PostgreSQL's defaults (fsync
    on, synchronous_commit on). ``mark`` is the driver's placeholder."""

    def __init__(self, database: str, sqlite_path) -> None:
        self.sqlite = database == "sqlite"
        if self.sqlite:
            import sqlite3

            self.conn = sqlite3.connect(sqlite_path, isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=30000")
            self.mark = "?"
        else:
            import psycopg

            self.conn = psycopg.connect(database, autocommit=True)
            self.mark = "%s"

    def sql(self, text: str) -> str:
        return text if self.sqlite else text.replace("%", "%%").replace("?", "%s")

    def execute(self, text: str, params=()) -> list:
        cursor = self.conn.execute(self.sql(text), params)
        return cursor.fetchall() if cursor.description else []

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


# --- a peer in W processes, started together --------------------------------------------------


def parts_run(script, argv: list[str], workers: int, state_dir) -> list[dict]:
    """Start ``workers`` copies of ``script --part i`` (each takes the customers with
    ``customer % workers == i``), let them prepare, start them together, and return each one's
    report (its last stdout line, JSON, with ``began``/``ended`` wall-clock seconds)."""
    import json
    import subprocess
    import sys
    import time

    state_dir.mkdir(parents=True, exist_ok=True)
    for path in state_dir.iterdir():
        path.unlink()
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), *argv, "--part", str(i), "--workers", str(workers)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(workers)
    ]
    while len(list(state_dir.glob("ready-*"))) < workers:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.05)
    (state_dir / "go").write_text("go")
    reports = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.stderr.write(err[-4000:])
            raise SystemExit(f"{script.name} part failed (exit {proc.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def part_ready_wait(state_dir, index: int) -> None:
    """In a part: say it is ready, then wait for the driver's go."""
    import time

    (state_dir / f"ready-{index}").write_text("ready")
    while not (state_dir / "go").exists():
        time.sleep(0.01)


def parts_merge(peer: str, customers: int, reports: list[dict], **extra) -> dict:
    """One report for the whole run: wall time from the first part's start to the last's end."""
    wall = max(r["ended"] for r in reports) - min(r["began"] for r in reports)
    steps, messages = sum(r["steps"] for r in reports), sum(r["messages"] for r in reports)
    if steps != expected_steps(range(customers)) or messages != expected_messages(range(customers)):
        raise RuntimeError(f"{peer} run incomplete: {steps} steps, {messages} messages")
    return run_report(
        peer=peer, customers=customers, workers=len(reports), steps=steps, messages=messages,
        wall_s=wall, peak_rss_mb=[r["peak_rss_mb"] for r in reports], **extra,
    )  # fmt: skip


def summary(runs: list[dict]) -> dict:
    """Median, min and max of a configuration's repeats."""
    return {
        "steps_per_s": spread([r["steps_per_s"] for r in runs]),
        "messages_per_s": spread([r["messages_per_s"] for r in runs]),
        "wall_s": spread([r["wall_s"] for r in runs]),
        "runs": runs,
    }


def print_row(key: str, f: dict) -> None:
    s = f["steps_per_s"]
    print(f"{key:<30} {s['median']:>9,.1f} {s['min']:>8,.1f} {s['max']:>8,.1f} "
          f"{f['wall_s']['median']:>8.1f} {f['messages_per_s']['median']:>8,.1f}", flush=True)  # fmt: skip


def peer_parser(doc: str | None, *, workers: str, workers_help: str) -> argparse.ArgumentParser:
    """The options every peer benchmark shares (sizes, workers, databases, repeats)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", default="2000", help="comma-separated sizes")
    parser.add_argument("--workers", default=workers, help=workers_help)
    parser.add_argument(
        "--database", default="sqlite", help="comma-separated: sqlite, postgres URLs"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration (median)")
    return parser


def configurations_measure(peer: str, args: argparse.Namespace, measure) -> dict:
    """Every database x customers x workers configuration of ``args``, ``args.repeats`` times
    each: ``measure(database, customers, workers)`` -> a run report; prints a row per
    configuration and returns {configuration: summary}."""
    figures = {}
    print(f"{'configuration':<30} {'steps/s':>9} {'min':>8} {'max':>8} {'wall s':>8} {'msgs/s':>8}")
    for database in args.database.split(","):
        label = "sqlite" if database == "sqlite" else "postgresql"
        for customers in [int(c) for c in args.customers.split(",")]:
            for workers in [int(w) for w in args.workers.split(",")]:
                runs = [measure(database, customers, workers) for _ in range(args.repeats)]
                key = f"{peer} {label} {customers} x{workers}"
                figures[key] = summary(runs)
                print_row(key, figures[key])
    return figures
