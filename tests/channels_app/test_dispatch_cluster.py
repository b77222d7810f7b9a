# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""A real django-q2 cluster (``manage.py qcluster`` started by the test) dispatches queued
messages to the Twilio stand-in; one worker is SIGKILLed mid-batch, before the provider call and
after it. django-q2 replaces the dead worker; the lost sweep comes back either as django-q2's
redelivery (database broker) or as the next periodic sweep (any broker: Redis does not redeliver a
task whose worker died), which reconciles the dead worker's claim before any resend. After
recovery every message reached the provider exactly once."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from channels_app.models import Message
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    customer_make,
    sms_enqueue,
    twilio_account,
)
from tests.conftest import ROOT, server_env
from tests.standins.fixtures import twilio_standin  # noqa: F401

PHONES = ["+919812345670", "+919812345671", "+919812345672"]


def cluster_start(tmp_path, point: str) -> tuple[subprocess.Popen, object]:
    env = server_env() | {
        "SANGAM_DISPATCH_CRASH_AT": point,
        "SANGAM_DISPATCH_CRASH_ONCE": str(tmp_path / "crashed"),
        "SANGAM_DISPATCH_LEASE_S": "1",  # the dead worker's claims are reconciled soon
        "Q_WORKERS": "2",
        "Q_TIMEOUT": "3",
        "Q_RETRY": "4",  # the lost sweep task is handed out again after this
        "LOG_LEVEL": "INFO",
    }
    log = open(tmp_path / "qcluster.log", "w+b")  # noqa: SIM115  (closed in cluster_stop)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    return proc, log


def cluster_stop(proc: subprocess.Popen, log) -> None:
    """Ask the cluster to stop, then SIGKILL its whole process group (no orphan workers)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)
    log.close()


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def cluster(transactional_db, tmp_path):
    """Start a cluster with ``cluster(point)``; it is stopped, process group and all, after."""
    started: list = []

    def start(point: str) -> subprocess.Popen:
        started.append(cluster_start(tmp_path, point))
        return started[-1][0]

    yield start
    for proc, log in started:
        cluster_stop(proc, log)


@pytest.mark.parametrize("point", ["before_call", "after_call"])
def test_a_cluster_worker_killed_mid_batch_sends_each_message_once_after_recovery(
    cluster, workspace, twilio_standin, tmp_path, point
):
    from channels_app.tmpl.demo import demo_templates_seed

    demo_templates_seed(workspace)
    twilio_account(workspace, twilio_standin)
    Schedule.objects.all().delete()  # only the sweeps our sends kick run in this cluster
    proc = cluster(point)
    now = timezone.now() - timedelta(seconds=5)
    for n, phone in enumerate(PHONES):  # each enqueue kicks a sweep task after commit
        sms_enqueue(customer_make(workspace, external_id=f"c{n}", phone=phone),
                    key=f"run:{n}:node:send:1", at=now)  # fmt: skip

    def all_sent() -> bool:
        return Message.objects.filter(status="sent").count() == len(PHONES)

    def all_sent_with_periodic_sweeps() -> bool:
        # What the "outbox sweep" schedule does every minute in production, every 3 s here.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if wait_for(all_sent, timeout=3):
                return True
            async_task("channels_app.outbox.tasks.outbox_sweep")
        return False

    recovered = all_sent_with_periodic_sweeps()
    log_path = tmp_path / "qcluster.log"
    assert recovered, log_path.read_text(errors="replace")[-4000:]
    assert (tmp_path / "crashed").exists(), "no worker was killed"
    assert "after death" in log_path.read_text(errors="replace")  # django-q2 replaced it
    time.sleep(1.0)  # a late duplicate would show up here
    sent = twilio_standin.requests_to("/Messages.json")
    assert sorted(r.form["To"] for r in sent) == PHONES
    assert len(twilio_standin.messages) == len(PHONES)
    assert proc.poll() is None
