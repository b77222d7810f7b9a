"""Sangam next to its peers (issue 8 workloads 3 and 4), measured in the same run.

For each database, size and worker count, and each repeat, runs in turn: Sangam's engine
benchmark (bench/engine_throughput.py, one configuration), the naive django-q2 design
(bench/naive.py), SpiffWorkflow (bench/peer_spiff.py) and DBOS (bench/peer_dbos.py), all on the
same database with the same N, the same 4-step journey, the same simulated outcomes and the same
step count. Prints each one's steps/s and the ratios Sangam / peer, each ratio taken within one
repeat and reported as the median over repeats with min and max (the machine is shared: a
ratio of neighbours in time means more than an absolute rate).

PostgreSQL: every tool resets its own tables in the given database (Sangam's and the naive
app's by Django's flush), so give a scratch database, never one in use.

SpiffWorkflow and DBOS need the bench extra: pip install -e ".[bench]" (or --peers naive).

Usage:
  python bench/peers.py --customers 2000,10000 --workers 1 \\
      --database sqlite,postgresql://postgres@127.0.0.1:5432/sangam_bench [--repeats 3]
  python bench/peers.py --customers 100 --peers naive,spiff     # a subset of the peers
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys

from common import ROOT, results_write, spread

HERE = ROOT / "bench"
PEERS = ("naive", "spiff", "dbos")
EXTRA = {"spiff": "SpiffWorkflow", "dbos": "dbos"}


def _args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", default="2000", help="comma-separated sizes")
    parser.add_argument("--workers", default="1", help="comma-separated worker counts")
    parser.add_argument(
        "--database", default="sqlite", help="comma-separated: sqlite, postgres URLs"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per configuration (median)")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset")
    parser.add_argument("--hour-seconds", type=float, default=0.01, help="DBOS: one journey hour")
    return parser.parse_args(argv)


def sangam_run(database: str, customers: int, workers: int) -> dict:
    """One configuration of bench/engine_throughput.py, in its own process and state folder."""
    env = dict(os.environ, BENCH_STATE=f"peers-{_label(database)}")
    env.setdefault("BENCH_SQLITE", "bench-peers-engine.sqlite3")
    command = [sys.executable, str(HERE / "engine_throughput.py"), "--one", "--database", database,
               "--customers", str(customers), "--workers", str(workers)]  # fmt: skip
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"Sangam's engine benchmark failed for {database} {customers} x{workers}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peer_run(peer: str, database: str, customers: int, workers: int, hour_s: float) -> dict:
    if peer == "naive":
        from naive import child_run

        return child_run(database, customers, workers)
    if peer == "spiff":
        from peer_spiff import measure

        return measure(database, customers, workers)
    from peer_dbos import measure

    return measure(database, customers, workers, hour_seconds=hour_s)


def _label(database: str) -> str:
    return "sqlite" if database == "sqlite" else "postgresql"


def peers_check(peers: list[str]) -> None:
    for peer in peers:
        if peer not in PEERS:
            raise SystemExit(f"--peers: unknown peer {peer!r}; choose from {', '.join(PEERS)}")
        if peer in EXTRA and importlib.util.find_spec(EXTRA[peer]) is None:
            raise SystemExit(
                f"--peers {peer}: {EXTRA[peer]} is not installed; run "
                f'.venv/bin/pip install -e ".[bench]" or leave {peer} out of --peers'
            )


def configuration_run(args, peers, database, customers, workers) -> dict:
    """All repeats of one configuration: each repeat runs Sangam, then every peer."""
    rows: dict[str, list[dict]] = {"sangam": [], **{p: [] for p in peers}}
    for _ in range(args.repeats):
        rows["sangam"].append(sangam_run(database, customers, workers))
        for peer in peers:
            rows[peer].append(peer_run(peer, database, customers, workers, args.hour_seconds))
    sangam = [r["steps_per_s"] for r in rows["sangam"]]
    figures = {
        name: {"steps_per_s": spread([r["steps_per_s"] for r in runs]),
               "wall_s": spread([r["wall_s"] for r in runs]), "runs": runs}
        for name, runs in rows.items()
    }  # fmt: skip
    for peer in peers:
        ratios = [s / r["steps_per_s"] for s, r in zip(sangam, rows[peer], strict=True)]
        figures[f"sangam/{peer}"] = spread(ratios)
    return figures


def print_configuration(key: str, figures: dict, peers: list[str]) -> None:
    print(key, flush=True)
    for name in ("sangam", *peers):
        s = figures[name]["steps_per_s"]
        print(f"    {name:<8} steps/s {s['median']:>9,.1f} (min {s['min']:,.1f} max {s['max']:,.1f})"
              f"  wall {figures[name]['wall_s']['median']:>7.1f} s", flush=True)  # fmt: skip
    for peer in peers:
        r = figures[f"sangam/{peer}"]
        print(f"    sangam/{peer:<6} {r['median']:>8.2f}x (min {r['min']:.2f} max {r['max']:.2f})",
              flush=True)  # fmt: skip


def main(argv=None) -> None:
    args = _args(argv)
    peers = [p for p in args.peers.split(",") if p]
    peers_check(peers)
    figures = {}
    for database in args.database.split(","):
        for customers in [int(c) for c in args.customers.split(",")]:
            for workers in [int(w) for w in args.workers.split(",")]:
                key = f"{_label(database)} {customers} x{workers}"
                figures[key] = configuration_run(args, peers, database, customers, workers)
                print_configuration(key, figures[key], peers)
    from common import django_connect

    os.environ.setdefault("BENCH_SQLITE", "bench-peers-engine.sqlite3")
    django_connect(args.database.split(",")[0])
    print(f"results: {results_write('peers', vars(args), figures)}")


if __name__ == "__main__":
    main()
