"""A real worker process killed with SIGKILL in the middle of a batch loses nothing and, after
recovery, each run's steps and messages exist exactly once."""

import subprocess
import sys
from datetime import timedelta

import pytest

from channels_app.models.outbox import Message
from journeys.models import Run, Step
from journeys.services import journey_create, journey_publish
from tests.conftest import ROOT, server_env
from tests.journeys.conftest import send_event
from tests.journeys.test_engine_db import waits

WORKER = """
import os, sys, django
from datetime import datetime
django.setup()
from journeys.clock import clock_frozen
from journeys.services import runs_advance_due
with clock_frozen(datetime.fromisoformat(os.environ["SANGAM_TEST_NOW"])):
    print(runs_advance_due(limit=100))
"""


def worker(now, crash_at=""):
    env = server_env() | {"SANGAM_TEST_NOW": now.isoformat(), "SANGAM_ENGINE_CRASH_AT": crash_at}
    return subprocess.run(
        [sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def graph_with_a_send():
    graph = waits()
    graph["nodes"].insert(
        2,
        {
            "id": "sms",
            "kind": "send",
            "config": {"channel": "sms", "template": "payment_reminder_sms", "purpose": "service"},
        },
    )
    graph["edges"][1] = {"from": "pause1", "port": "out", "to": "sms"}
    graph["edges"].insert(2, {"from": "sms", "port": "sent", "to": "mark"})
    return graph


@pytest.mark.parametrize("crash_at", ["claimed", "advanced", "persisted"])
def test_a_worker_killed_mid_batch_loses_no_run_and_duplicates_nothing(
    transactional_db, templates, make_customer, clock, engine_sync, crash_at
):
    journey = journey_create(workspace=templates, name="Kill", graph=graph_with_a_send())
    journey_publish(journey=journey)
    for n in range(12):
        send_event(make_customer(), "go", ref=f"R{n}", loan_id=f"L{n}", emi_amount="100",
                   emi_due_date="2031-01-01")  # fmt: skip
    steps_before = Step.objects.count()
    later = clock.now + timedelta(hours=1, minutes=1)

    killed = worker(later, crash_at)
    assert killed.returncode == -9, killed.stderr
    assert Step.objects.count() == steps_before
    assert Message.objects.count() == 0
    assert set(Run.objects.values_list("node_id", flat=True)) == {"pause1"}

    recovered = worker(later)
    assert recovered.returncode == 0, recovered.stderr
    assert recovered.stdout.strip() == "12"
    again = worker(later)
    assert again.stdout.strip() == "0"
    for run in Run.objects.all():
        assert list(run.steps.order_by("left_at").values_list("node_id", flat=True)) == [
            "trigger",
            "pause1",
        ]
        assert run.node_id == "sms" and run.status == "waiting"
        assert Message.objects.filter(run_id=run.pk).count() == 1
