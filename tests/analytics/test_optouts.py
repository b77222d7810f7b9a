"""Opt-outs attributed to journeys: the pure formula on hand-built rows, then the rollups."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.metrics import MessageRow, Ratio, RunRow, Window
from analytics.models import RunFact
from analytics.optouts import OptOutRow, journey_opt_out_rate, optout_message, optouts_by_run
from analytics.rollups import rollups_rebuild, rollups_update
from tests.analytics.factories import (
    consent_make,
    customer_make,
    journey_make,
    message_make,
    run_make,
    status_make,
    step_make,
)
from tests.analytics.test_rollups import cell, snapshot

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def run(run_id, *, customer=1, hours=0, holdout=False, version=1):
    return RunRow(run_id=run_id, customer_id=customer, journey_id=1, version=version,
                  status="waiting", entered_at=at(hours), holdout=holdout)  # fmt: skip


def msg(message_id, run_id, channel="sms", hours=0.0, statuses=("sent",), customer=1):
    return MessageRow(
        message_id=message_id, customer_id=customer, channel=channel, created_at=at(hours),
        statuses=frozenset(statuses), run_id=run_id, journey_id=1 if run_id else 0,
        node_id=f"n{message_id}" if run_id else "", cost=Decimal("0.1"), sent_at=at(hours),
    )  # fmt: skip


def stop(entry_id, hours, channel="sms", customer=1):
    return OptOutRow(entry_id, customer, channel, at(hours))


def test_an_opt_out_is_attributed_to_the_last_message_on_its_channel():
    messages = [msg(1, 10, hours=0), msg(2, 20, hours=5), msg(3, 30, "whatsapp", hours=5.5)]
    assert optout_message(stop(1, 6), messages).message_id == 2
    assert optouts_by_run([stop(1, 6)], messages) == {20: [(stop(1, 6), messages[1])]}


def test_an_opt_out_more_than_72_hours_after_the_last_message_is_nobodys():
    assert optout_message(stop(1, 72.5), [msg(1, 10, hours=0)]) is None
    assert optout_message(stop(1, 72), [msg(1, 10, hours=0)]).message_id == 1


def test_a_blocked_message_never_reached_the_customer_so_it_is_not_blamed():
    messages = [msg(1, 10, hours=0), msg(2, 20, hours=5, statuses=("blocked",))]
    assert optout_message(stop(1, 6), messages).message_id == 1


def test_when_the_last_touch_was_not_a_journeys_message_no_journey_is_blamed():
    messages = [msg(1, 10, hours=0), msg(2, None, hours=5)]  # an OTP after the reminder
    assert optouts_by_run([stop(1, 6)], messages) == {}


def test_journey_opt_out_rate_is_runs_with_an_opt_out_over_treatment_runs_that_sent():
    runs = [run(10), run(20, customer=2), run(30, customer=3), run(40, holdout=True),
            run(50, customer=5, hours=48)]  # fmt: skip
    messages = [
        msg(1, 10, hours=0), msg(2, 10, "whatsapp", hours=1),  # run 10: STOP on both channels
        msg(3, 20, hours=0, customer=2),
        msg(4, 30, hours=0, statuses=("blocked",), customer=3),  # run 30 never sent
        msg(5, 50, hours=48, customer=5),
    ]  # fmt: skip
    optouts = [stop(1, 2), stop(2, 3, "whatsapp"), stop(3, 60, customer=5)]
    assert journey_opt_out_rate(runs, messages, optouts) == Ratio(2, 3)  # 10 once, 50; of 10/20/50
    assert journey_opt_out_rate(runs, messages, optouts, Window(end=at(24))) == Ratio(1, 2)
    assert journey_opt_out_rate(runs, messages, optouts, Window(version=2)) == Ratio(0, 0)


# --- rollups ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rollups_attribute_an_opt_out_to_the_run_that_last_messaged_and_follow_late_rows(
    workspace,
):
    journey = journey_make(workspace)
    customer = customer_make(workspace, 1)
    first = run_make(journey, customer, hours=0, key="L1", status="waiting")
    second = run_make(journey, customer, hours=1, key="L2", status="waiting")
    for r, node, hours in ((first, "sms_a", 0), (second, "sms_b", 1)):
        step_make(r, node, hours=hours)
    status_make(message_make(customer, run=first, node="sms_a", channel="sms", hours=0), "sent", 0)
    late = message_make(customer, run=second, node="sms_b", channel="sms", hours=1)  # queued
    rollups_update()
    consent_make(customer, "sms", "withdrawn", hours=3)
    rollups_update()
    assert cell(workspace, "run.optout", "treatment", node_id="sms_a") == 1
    assert cell(workspace, "run.sent", "treatment") == 1
    assert RunFact.objects.get(run=first).opted_out

    status_make(late, "sent", 2)  # the second run's message left before the STOP after all
    rollups_update()
    assert cell(workspace, "run.optout", "treatment", node_id="sms_a") == 0
    assert cell(workspace, "run.optout", "treatment", node_id="sms_b") == 1
    assert cell(workspace, "run.sent", "treatment") == 2
    assert not RunFact.objects.get(run=first).opted_out
    assert RunFact.objects.get(run=second).opted_out

    incremental = snapshot(workspace)
    rollups_rebuild(workspace)
    assert snapshot(workspace) == incremental
