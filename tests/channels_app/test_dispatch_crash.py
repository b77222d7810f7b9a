# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""Real worker processes SIGKILLed mid-batch, before the provider call and after it: after
recovery every message reached the Twilio stand-in exactly once."""

import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from channels_app.models import Message
from tests.channels_app.outbox_fixtures import (  # noqa: F401
    customer_make,
    sms_enqueue,
    twilio_account,
)
from tests.conftest import ROOT, server_env
from tests.standins.fixtures import twilio_standin  # noqa: F401

WORKER = (
    "import django; django.setup(); "
    "from channels_app.outbox.tasks import outbox_dispatch_batch; "
    "print(outbox_dispatch_batch(limit=10))"
)


def run_worker(**env_extra) -> subprocess.CompletedProcess:
    env = server_env()
    env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, timeout=60
    )


@pytest.fixture
def three_due(transactional_db, workspace, twilio_standin):
    from channels_app.tmpl.demo import demo_templates_seed

    demo_templates_seed(workspace)
    twilio_account(workspace, twilio_standin)
    now = timezone.now() - timedelta(seconds=5)
    for n in range(3):
        customer = customer_make(workspace, external_id=f"c{n}", phone=f"+91981234567{n}")
        sms_enqueue(customer, key=f"run:{n}:node:send:1", at=now)
    return twilio_standin


@pytest.mark.parametrize("point", ["before_call", "after_call"])
def test_a_killed_worker_leads_to_exactly_one_provider_request_per_message(three_due, point):
    crashed = run_worker(SANGAM_DISPATCH_CRASH_AT=point)
    assert crashed.returncode == -9, crashed.stderr.decode()[-2000:]
    # The batch is marked "sending" in one commit before its first provider call.
    assert Message.objects.filter(status="sending").count() == 3
    expected_before = 1 if point == "after_call" else 0
    assert len(three_due.requests_to("/Messages.json")) == expected_before
    recovered = run_worker(SANGAM_DISPATCH_LEASE_S="0")
    assert recovered.returncode == 0, recovered.stderr.decode()[-2000:]
    sent = three_due.requests_to("/Messages.json")
    assert sorted(r.form["To"] for r in sent) == ["+919812345670", "+919812345671", "+919812345672"]
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert len(three_due.messages) == 3
