"""Shared helpers for the benchmark scripts: a scratch database, timing, machine facts, results."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def django_setup(database: str) -> None:
    """Point Django at a scratch database: a fresh SQLite file or the given PostgreSQL URL."""
    sys.path.insert(0, str(ROOT))
    if database == "sqlite":
        path = ROOT / "var" / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if database != "sqlite":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def timed(fn, repeats: int) -> dict:
    """Run fn `repeats` times; milliseconds as median, p95, min and max."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return {"median_ms": round(statistics.median(samples), 3), "p95_ms": round(p95, 3),
            "min_ms": round(samples[0], 3), "max_ms": round(samples[-1], 3), "repeats": repeats}


def machine() -> dict:
    from django.db import connection

    return {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "database": connection.vendor,
        "database_version": connection.cursor().connection.__class__.__module__
        if connection.vendor != "sqlite" else __import__("sqlite3").sqlite_version,
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip(),
    }


def results_write(name: str, parameters: dict, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"benchmark": name, "at": stamp, "machine": machine(),
                                "parameters": parameters, "figures": figures}, indent=2))
    return path
