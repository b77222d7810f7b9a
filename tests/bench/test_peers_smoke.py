"""The peer benchmarks do the same work as Sangam's: same outcomes, same step count, every run
finished. No speed is asserted here (that is bench/'s job)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from peer_common import (  # noqa: E402
    STEPS_READ,
    STEPS_SMS,
    expected_messages,
    expected_steps,
    whatsapp_outcome,
)


def test_simulated_outcomes_keep_the_engine_benchmarks_proportions():
    outcomes = [whatsapp_outcome(c) for c in range(20_000)]
    reachable = 1 - outcomes.count("failed") / len(outcomes)
    read = outcomes.count("read") / (len(outcomes) - outcomes.count("failed"))
    assert 0.89 < reachable < 0.91
    assert 0.74 < read < 0.76
    assert outcomes == [whatsapp_outcome(c) for c in range(20_000)]  # the same for every peer


def test_step_count_is_five_for_a_read_run_and_six_for_an_sms_fallback():
    read = next(c for c in range(100) if whatsapp_outcome(c) == "read")
    unread = next(c for c in range(100) if whatsapp_outcome(c) != "read")
    assert expected_steps(range(read, read + 1)) == STEPS_READ == 5
    assert expected_steps(range(unread, unread + 1)) == STEPS_SMS == 6
    assert expected_messages(range(unread, unread + 1)) == 2


def test_naive_design_runs_every_journey_to_its_end_on_a_real_django_q2_cluster(tmp_path):
    # The cluster and the driver share the scratch SQLite file whatever the suite runs on
    # (DATABASE_URL and REDIS_URL of a PostgreSQL + Redis run are left out).
    env = {**_naive_env(), "BENCH_SQLITE": str(tmp_path / "naive.sqlite3")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "naive.py"), "--customers", "40", "--workers", "1",
         "--database", "sqlite", "--one"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["steps"] == expected_steps(range(40))
    assert report["messages"] == expected_messages(range(40))
    assert report["failed_tasks"] == 0


def _naive_env() -> dict:
    from naive import environment

    return environment("sqlite", 1)
