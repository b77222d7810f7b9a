"""Live push (issue 8, workload 8): latency from a committed step or event to each connected
dashboard's WebSocket message, p50 / p99, with --clients dashboards open.

A daphne child process serves the console against a scratch database (SQLite or PostgreSQL).
--clients WebSocket clients (autobahn, which daphne ships) log in with one session and subscribe
to /ws/live/?topics=journey:<J>,customer:<C>, as the journey page and a customer page do. The
writer in this process (a worker's view: its own database connection, the live coalescer of its
own process) then commits, every --interval seconds, alternately
  - a journey step: ``runs_advance_due`` advances one due run of journey J (wait -> exit), which
    announces journey:J after commit;
  - an event for customer C through ``events_ingest``, which announces customer:C;
and notes the time the commit returned. The clients run in a process of their own. Each client notes when each notice arrives; a notice's
latency is its arrival minus the latest commit on its topic before it (commits are spaced wider
than the coalescing windows, so each commit gives one notice per client; missing ones are
counted).

Transports (--transport): "embedded" (no Redis: the writer's coalescer writes a LiveNotice row
every LIVE_RELAY_INTERVAL, 0.1 s by default, and the relay inside daphne polls them at the same
interval) and "redis" (REDIS_URL: channels_redis carries the notice straight to daphne's layer).

Usage:
  python bench/live_push.py --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench_load \\
      --transport embedded,redis --clients 50 --commits 120
  python bench/live_push.py --clients 50 --commits 10 --transport embedded     # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from common import ROOT, results_write, spread
from loadgen import (
    argv_replace,
    child_run,
    database_label,
    latency_ms,
    postgres_ensure,
    result_print,
    server_start,
)

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/sangam_bench_load"
REDIS_DEFAULT = "redis://127.0.0.1:6379/1"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", default="sqlite", help=f"comma-separated: sqlite, {PG_DEFAULT}"
    )
    parser.add_argument(
        "--transport", default="embedded,redis", help="embedded, redis (comma-separated)"
    )
    parser.add_argument("--redis", default=REDIS_DEFAULT, help="REDIS_URL for --transport redis")
    parser.add_argument("--clients", type=int, default=50, help="connected dashboards")
    parser.add_argument(
        "--commits", type=int, default=60, help="commits per repeat (steps + events)"
    )
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between commits")
    parser.add_argument("--relay-interval", type=float, default=0.0,
                        help="LIVE_RELAY_INTERVAL for server and writer (0: the product default)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dashboards", nargs=4, default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


# --- data ---------------------------------------------------------------------------------------


def seed(runs: int) -> dict:
    """A journey with ``runs`` runs waiting and already due, a customer for events, and a
    logged-in session of an admin of the workspace."""
    import enginebench as eb
    from django.conf import settings as django_settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from timer_lag import load

    from console.models import Customer, Membership
    from console.roles import roles_sync
    from journeys.models import Run

    workspace_id, t0, _base = load(runs, start_delay_s=0.0, speed=1.0)
    eb.clock_set(workspace_id, t0 + timedelta(hours=2))  # every wake-up has passed
    run = Run.objects.filter(workspace_id=workspace_id).order_by("id")
    journey_id = run.first().journey_id
    customer = Customer.objects.create(workspace_id=workspace_id, external_id="live-c",
                                       name="Live dashboard", phone="+919900000001")  # fmt: skip
    user = User.objects.create(username="live-bench")
    Membership.objects.create(user=user, workspace_id=workspace_id, role=roles_sync()["admin"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["workspace_id"] = workspace_id
    session.create()
    return {"workspace": workspace_id, "journey": journey_id, "customer": customer.pk,
            "customer_key": customer.external_id, "session": session.session_key,
            "runs": list(run.values_list("id", flat=True))}  # fmt: skip


# --- clients ------------------------------------------------------------------------------------


async def clients_connect(port: int, topics: list[str], session: str, count: int) -> list:
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

    loop = asyncio.get_running_loop()

    class Dashboard(WebSocketClientProtocol):
        def onConnect(self, response) -> None:  # noqa: N802  (autobahn's names)
            self.notices: list[tuple[str, float]] = []
            self.subscribed = loop.create_future()

        def onMessage(self, payload: bytes, is_binary: bool) -> None:  # noqa: N802
            arrived = time.monotonic()
            data = json.loads(payload)
            if data.get("type") == "subscribed":
                if not self.subscribed.done():
                    self.subscribed.set_result(data["topics"])
            elif data.get("type") == "notice":
                self.notices.append((data["topic"], arrived))

        def onClose(self, was_clean: bool, code, reason) -> None:  # noqa: N802
            if hasattr(self, "subscribed") and not self.subscribed.done():
                self.subscribed.set_exception(RuntimeError(f"closed: {code} {reason}"))

    url = f"ws://127.0.0.1:{port}/ws/live/?topics={','.join(topics)}"
    factory = WebSocketClientFactory(url, origin=f"http://127.0.0.1:{port}",
                                     headers={"Cookie": f"sessionid={session}"})  # fmt: skip
    factory.protocol = Dashboard
    dashboards = []
    for _ in range(count):
        _transport, protocol = await loop.create_connection(factory, "127.0.0.1", port)
        dashboards.append(protocol)
    for dashboard in dashboards:
        while not hasattr(dashboard, "subscribed"):
            await asyncio.sleep(0.01)
        granted = await asyncio.wait_for(dashboard.subscribed, 20)
        if sorted(granted) != sorted(topics):
            raise SystemExit(f"subscribed to {granted}, wanted {topics}")
    return dashboards


# --- the writer (a worker's view: its own connection and live coalescer) -----------------------


def writer(data: dict, commits: int, interval: float, stamps: list, tag: str) -> None:
    from django.db import connection

    from console.models import Workspace
    from console.services import events_ingest
    from journeys.services.stepping import runs_advance_due

    workspace = Workspace.objects.get(pk=data["workspace"])
    runs = iter(data["runs"])
    try:
        next_at = time.monotonic()
        for k in range(commits):
            next_at += interval
            if k % 2 == 0:
                advanced = runs_advance_due(only_ids=[next(runs)])
                assert advanced == 1, "the due run was not advanced"
                stamps.append((f"journey:{data['journey']}", time.monotonic()))
            else:
                item = {"event_id": f"live-{tag}-{k}", "customer": {"external_id": data["customer_key"]},
                        "name": "page.viewed", "properties": {"k": k}}  # fmt: skip
                outcome = events_ingest(workspace=workspace, items=[item], source="api")[0]
                assert outcome.status == "created", outcome
                stamps.append((f"customer:{data['customer']}", time.monotonic()))
            time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        connection.close()


def latencies(stamps: list[tuple[str, float]], dashboards: list[list]) -> tuple[list[float], dict]:
    """Each notice against the latest commit on its topic before it; per-client counts."""
    by_topic: dict[str, list[float]] = {}
    for topic, at in stamps:
        by_topic.setdefault(topic, []).append(at)
    samples, missing, extra, early = [], 0, 0, 0
    for dashboard in dashboards:
        matched: dict[str, set[int]] = {t: set() for t in by_topic}
        for topic, arrived in dashboard:
            times = by_topic.get(topic, [])
            before = [i for i, at in enumerate(times) if at <= arrived]
            if not before:
                early += 1
                continue
            i = before[-1]
            if i in matched[topic]:
                extra += 1  # two notices for one commit (or one lost before it)
                continue
            matched[topic].add(i)
            samples.append(arrived - times[i])
        missing += sum(len(times) - len(matched[t]) for t, times in by_topic.items())
    return samples, {"missing": missing, "extra": extra, "before_any_commit": early}


def one_repeat(port: int, data: dict, args, repeat: int) -> dict:
    """Dashboards in their own process (no Django there: daphne's autobahn would be bound to
    twisted); the writer here. Times are CLOCK_MONOTONIC, which is system-wide on Linux."""
    topics = [f"journey:{data['journey']}", f"customer:{data['customer']}"]
    clients = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "live_push.py"), "--dashboards", str(port),
         ",".join(topics), data["session"], str(args.clients)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert clients.stdin is not None and clients.stdout is not None
    ready = clients.stdout.readline().strip()
    if ready != "ready":
        clients.kill()
        raise SystemExit(f"the dashboards did not connect: {ready!r}")
    time.sleep(1.0)  # let the relay start and any start-up notices pass
    stamps: list[tuple[str, float]] = []
    start = repeat * ((args.commits + 1) // 2)
    clients.stdin.write("go\n")
    clients.stdin.flush()
    writer(dict(data, runs=data["runs"][start:]), args.commits, args.interval, stamps, str(repeat))
    time.sleep(2.0)  # the last notices
    clients.stdin.write("stop\n")
    clients.stdin.flush()
    notices = json.loads(clients.stdout.readline())
    clients.wait(timeout=30)
    samples, counts = latencies(stamps, notices)
    return {"commits": len(stamps), "notices": len(samples), **counts,
            "latency": latency_ms(samples)}  # fmt: skip


def dashboards_main(port: int, topics: str, session: str, count: int) -> None:
    """The clients process: connect, say "ready", clear notices on "go", print them on "stop"."""

    async def main() -> None:
        dashboards = await clients_connect(port, topics.split(","), session, count)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        for word in ("go", "stop"):
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if line.strip() != word:
                raise SystemExit(f"expected {word!r}, got {line!r}")
            if word == "go":
                for dashboard in dashboards:
                    dashboard.notices.clear()
        print(json.dumps([d.notices for d in dashboards]), flush=True)
        for dashboard in dashboards:
            dashboard.sendClose()
        await asyncio.sleep(0.2)

    asyncio.run(main())


def _redis_check(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise SystemExit(
            f"--redis {url}: Redis does not answer ({exc}). Start redis-server, or pass "
            "--transport embedded to measure the database relay only."
        ) from exc


def run_one(args) -> dict:
    from common import django_setup

    if args.transport == "redis":
        _redis_check(args.redis)
        os.environ["REDIS_URL"] = args.redis
        os.environ["CACHE_KEY_PREFIX"] = f"livebench{os.getpid()}"
    if args.relay_interval:
        os.environ["LIVE_RELAY_INTERVAL"] = str(args.relay_interval)
    os.environ.setdefault("BENCH_SQLITE", "bench-live.sqlite3")
    if args.database != "sqlite":
        postgres_ensure(args.database)
    django_setup(args.database)
    from django.conf import settings
    from django.db import connection

    data = seed(args.repeats * ((args.commits + 1) // 2) + 1)
    connection.close()
    server = server_start(name="live")
    runs = []
    try:
        for repeat in range(args.repeats):
            cpu = server.cpu_seconds()
            run = one_repeat(server.port, data, args, repeat)
            run["server_cpu_s"] = round(server.cpu_seconds() - cpu, 2)
            runs.append(run)
            lat = run["latency"]
            print(f"{database_label(args.database)} {args.transport} #{repeat + 1}: "
                  f"{run['commits']} commits x {args.clients} clients -> {run['notices']} notices: "
                  f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms | "
                  f"missing {run['missing']}, extra {run['extra']}", flush=True)  # fmt: skip
    finally:
        server.stop()
    return {"relay_interval_s": settings.LIVE_RELAY_INTERVAL, "live_direct": settings.LIVE_DIRECT,
            "runs": runs, "summary": {
                "p50_ms": spread([r["latency"]["p50_ms"] for r in runs]),
                "p99_ms": spread([r["latency"]["p99_ms"] for r in runs]),
                "max_ms": spread([r["latency"]["max_ms"] for r in runs]),
                "missing": sum(r["missing"] for r in runs), "extra": sum(r["extra"] for r in runs)}}  # fmt: skip


# --- the suite ----------------------------------------------------------------------------------


def main() -> None:
    args = _args()
    if args.dashboards:
        port, topics, session, count = args.dashboards
        return dashboards_main(int(port), topics, session, int(count))
    if args.one:
        result_print(run_one(args))
        return
    figures = {}
    for database in args.database.split(","):
        for transport in args.transport.split(","):
            arguments = argv_replace(sys.argv[1:], "--database", database)
            arguments = argv_replace(arguments, "--transport", transport)
            key = f"{database_label(database)} {transport}"
            figures[key] = child_run(ROOT / "bench" / "live_push.py", arguments)
    print(f"\nLive push, commit -> WebSocket message, {args.clients} dashboards, "
          f"median of {args.repeats} (min-max):")  # fmt: skip
    print(f"{'configuration':<24} {'relay s':>7} {'p50 ms':>18} {'p99 ms':>20} {'missing':>8}")
    for key, result in figures.items():
        s = result["summary"]
        p50, p99 = s["p50_ms"], s["p99_ms"]
        relay = "-" if result["live_direct"] else f"{result['relay_interval_s']:g}"
        print(f"{key:<24} {relay:>7} {p50['median']:>6} ({p50['min']}-{p50['max']}) "
              f"{p99['median']:>7} ({p99['min']}-{p99['max']}) {s['missing']:>8}")  # fmt: skip
    from common import django_connect

    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('live_push', vars(args), figures)}")


if __name__ == "__main__":
    main()
