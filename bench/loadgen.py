"""What the HTTP benchmarks share (ingest, webhooks, live push): a real daphne serving
console.asgi on a free 127.0.0.1 port against the scratch database, an async load generator
(closed loop for the maximum rate, open loop for latency at a fixed offered rate), latency
percentiles, the server's CPU time, and an optional py-spy profile of the server.

The load generator runs in the benchmark's own process on the same 2-core machine as the server,
so the two compete for CPU: the figures are a floor for what daphne can do, and the table notes
the client's CPU time beside the server's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, postgres_ensure  # noqa: F401  (re-exported for the load benchmarks)

TICKS = os.sysconf("SC_CLK_TCK")


def database_label(database: str) -> str:
    return "sqlite" if database == "sqlite" else "postgresql"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A daphne child process serving the console against the database Django points at."""

    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def server_start(env_extra: dict[str, str] | None = None, name: str = "server") -> Server:
    """Start daphne on a free port with this process's database settings; wait until it answers.

    The API rate limit is raised for the benchmark (it is a per-key guard, not what is measured);
    ``SANGAM_PUBLIC_URL`` is the server's own address, so signed webhook URLs match."""
    import httpx

    port = free_port()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings",
        API_RATE_LIMIT_PER_MINUTE="100000000",
        SANGAM_PUBLIC_URL=f"http://127.0.0.1:{port}",
        LOG_LEVEL="ERROR",
        SANGAM_LOG_LEVEL="WARNING",
    )
    env.update(env_extra or {})
    log_path = ROOT / "var" / f"bench-{name}-{port}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "console.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Server(port, proc, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited at start-up; see {log_path}")
        try:
            httpx.get(server.base + "/login/", timeout=2.0)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.stop()
    raise SystemExit(f"daphne did not answer on {server.base} within 60 s; see {log_path}")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), from /proc."""
    if pid is None:
        usage = os.times()
        return usage.user + usage.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def profile_start(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy (if installed) records ``pid`` for up to ``seconds`` into ``out`` as collapsed
    stacks (one ``frame;frame;... count`` line per stack: flamegraph.pl input, and
    ``profile_top``'s)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed (pip install py-spy); no profile", flush=True)
        return None
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def profile_stop(spy: subprocess.Popen) -> None:
    """py-spy writes its profile when interrupted (SIGINT), not when terminated."""
    import signal

    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


def profile_top(raw: Path, limit: int = 25) -> list[tuple[str, float]]:
    """Self-time share per function from a py-spy raw (collapsed stacks) file."""
    if not raw.exists():
        return []
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:limit]
    return [(frame, round(100 * n / max(total, 1), 1)) for frame, n in ranked]


# --- load generation ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a load phase produced: per-request latencies (s), status counts, wall time."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0
    elapsed: float = 0.0
    client_cpu: float = 0.0

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def done(self) -> int:
        return len(self.latencies)


Request = Callable[[int], Awaitable[int]]  # index -> HTTP status


async def closed_loop(request: Request, total: int, concurrency: int) -> Outcome:
    """``concurrency`` clients send ``total`` requests back to back: the maximum rate."""
    outcome = Outcome()
    counter = iter(range(total))

    async def client() -> None:
        for index in counter:
            started = time.perf_counter()
            try:
                status = await request(index)
            except Exception:  # noqa: BLE001  (a failed request is counted, the run goes on)
                outcome.failures += 1
                continue
            outcome.latencies.append(time.perf_counter() - started)
            outcome.count(status)

    cpu, started = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    outcome.elapsed = time.perf_counter() - started
    outcome.client_cpu = cpu_seconds() - cpu
    return outcome


async def open_loop(request: Request, rate: float, total: int, max_in_flight: int) -> Outcome:
    """Requests start on a fixed schedule (``rate`` per second) whether or not earlier ones have
    answered; latency counts from the scheduled start, so a server falling behind shows as
    queueing delay (no coordinated omission). At most ``max_in_flight`` are open at once."""
    outcome = Outcome()
    gate = asyncio.Semaphore(max_in_flight)

    async def one(index: int, due: float) -> None:
        async with gate:
            try:
                status = await request(index)
            except Exception:  # noqa: BLE001
                outcome.failures += 1
                return
        outcome.latencies.append(time.perf_counter() - due)
        outcome.count(status)

    tasks = []
    cpu, started = cpu_seconds(), time.perf_counter()
    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    outcome.elapsed = time.perf_counter() - started
    outcome.client_cpu = cpu_seconds() - cpu
    return outcome


def latency_ms(samples: list[float]) -> dict:
    """p50 / p99 / max / mean of latencies given in seconds, in milliseconds."""
    if not samples:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None, "n": 0}
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1)))], 1)

    return {"p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(1000 * ordered[-1], 1),
            "mean_ms": round(1000 * statistics.fmean(ordered), 1), "n": len(ordered)}  # fmt: skip


def http_client(base: str, concurrency: int, headers: dict | None = None):
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        base_url=base, headers=headers or {}, limits=limits, timeout=httpx.Timeout(60.0)
    )


# --- one child process per database (Django is set up once per process) -------------------------

RESULT_PREFIX = "RESULT "


def child_run(script: Path, arguments: list[str]) -> dict:
    """Run ``script --one ...`` for one database, passing its table lines through; returns the
    JSON it prints last on a line starting with ``RESULT ``."""
    import json

    proc = subprocess.Popen(
        [sys.executable, str(script), "--one", *arguments], cwd=ROOT, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    result = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print(line, end="", flush=True)
    if proc.wait() != 0 or result is None:
        raise SystemExit(f"{script.name} failed for {arguments}")
    return result


def argv_replace(argv: list[str], name: str, value: str) -> list[str]:
    """``argv`` with option ``name`` (``--x v`` or ``--x=v``) set to ``value``."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == name:
            skip = True
        elif not item.startswith(name + "="):
            out.append(item)
    return [*out, name, value]


def result_print(figures: dict) -> None:
    import json

    print(RESULT_PREFIX + json.dumps(figures), flush=True)
