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


def sqlite_bench_path() -> Path:
    """The scratch SQLite file (BENCH_SQLITE names another, so two benchmarks can run at once)."""
    return ROOT / "var" / os.environ.get("BENCH_SQLITE", "bench.sqlite3")


def postgres_ensure(url: str) -> None:
    """Create the scratch PostgreSQL database of ``url`` when it does not exist yet."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if name in ("", "test", "postgres"):
        raise SystemExit(f"--database {url}: name a scratch database such as sangam_bench_load")
    command = ["createdb", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
               "-U", parts.username or "postgres", name]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0 and "already exists" not in out.stderr:
        raise SystemExit(f"createdb {name} failed: {out.stderr.strip()}")


def django_setup(database: str) -> None:
    """Point Django at a scratch database: a fresh SQLite file or the given PostgreSQL URL."""
    sys.path.insert(0, str(ROOT))
    if database == "sqlite":
        path = sqlite_bench_path()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)
        os.environ.pop("DATABASE_URL", None)
    else:
        postgres_ensure(database)
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
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(p95, 3),
        "min_ms": round(samples[0], 3),
        "max_ms": round(samples[-1], 3),
        "repeats": repeats,
    }


def machine() -> dict:
    from django.db import connection

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "database": connection.vendor,
        "database_version": connection.cursor().connection.__class__.__module__
        if connection.vendor != "sqlite"
        else __import__("sqlite3").sqlite_version,
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def results_write(name: str, parameters: dict, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "benchmark": name,
                "at": stamp,
                "machine": machine(),
                "parameters": parameters,
                "figures": figures,
            },
            indent=2,
        )
    )
    return path


def django_connect(database: str) -> None:
    """Point Django at the scratch database ``django_setup`` prepared, without resetting it
    (worker processes of a benchmark join the database their driver set up)."""
    sys.path.insert(0, str(ROOT))
    if database == "sqlite":
        os.environ["SQLITE_PATH"] = str(sqlite_bench_path())
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()


def db_size_bytes() -> int:
    """Bytes the database occupies now (PostgreSQL: the database; SQLite: file plus WAL)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    name = Path(str(connection.settings_dict["NAME"]))
    return sum(
        Path(f"{name}{s}").stat().st_size for s in ("", "-wal") if Path(f"{name}{s}").exists()
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_times() -> tuple[float, float] | None:
    """The machine's busy and idle CPU seconds so far, all cores (Linux /proc/stat; None
    elsewhere). Steal time (a shared host's other guests) counts as neither."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq = (int(v) for v in fields[:7])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, (idle + iowait) / tick


def cpu_used(before: tuple[float, float] | None) -> dict:
    """Busy CPU seconds since ``before`` (``cpu_times()``) and the busy share of all cores."""
    after = cpu_times()
    if before is None or after is None:
        return {}
    busy, idle = after[0] - before[0], after[1] - before[1]
    return {"cpu_busy_s": round(busy, 2), "cpu_busy_share": round(busy / max(busy + idle, 1e-9), 3)}


def spread(samples: list[float]) -> dict:
    """Median with min and max of repeated measurements."""
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
        "repeats": len(ordered),
    }
