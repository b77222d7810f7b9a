"""Rollups on a workspace whose journey clock runs accelerated (the demo runs 600x): runs,
steps and message creation are in journey time, events, sends and opt-outs in real time."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import ContactFact, RunFact
from analytics.rollups import rollups_rebuild, rollups_update
from channels_app.models.consent import ConsentEntry
from channels_app.models.outbox import MessageStatusChange
from console.models import Event
from journeys.clock import clock_frozen, clock_now, clock_speed_set
from tests.analytics.factories import customer_make, journey_make, message_make, run_make
from tests.analytics.test_rollups import cell, snapshot

pytestmark = pytest.mark.django_db
REAL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 14:30 in Kolkata


def test_contacts_and_opt_outs_on_an_accelerated_clock_land_in_the_runs_journey_hour(
    workspace, client_as
):
    with clock_frozen(REAL) as clock:
        clock_speed_set(workspace=workspace, factor=600)
        clock.advance(hours=1)  # journey time is now 600 hours (25 days) ahead
        journey_now = clock_now(workspace)
        assert journey_now == REAL + timedelta(hours=600)
        journey = journey_make(workspace)
        customer = customer_make(workspace, 1)
        run = run_make(journey, customer, key="L1", status="waiting")
        run.entered_at = journey_now
        run.save()
        message = message_make(customer, run=run, node="wa", channel="sms")
        message.created_at = message.status_at = journey_now
        message.sent_at, message.status = clock.now + timedelta(seconds=1), "delivered"
        message.save()
        MessageStatusChange.objects.create(message=message, status="delivered",
                                           at=clock.now + timedelta(seconds=3))  # fmt: skip
        # The customer calls back 30 real seconds later (5 journey hours), then sends STOP.
        Event.objects.create(
            workspace=workspace, customer=customer, name="inbound.call",
            properties={"channel": "voice"}, occurred_at=clock.now + timedelta(seconds=30),
            received_at=clock.now + timedelta(seconds=30), idempotency_key="call-1",
        )  # fmt: skip
        ConsentEntry.objects.create(
            workspace=workspace, customer=customer, channel="sms", purpose="promotional",
            status="withdrawn", source="keyword", actor_label="customer",
            at=clock.now + timedelta(seconds=40),
        )  # fmt: skip
        rollups_update()

        contact = ContactFact.objects.get()
        assert contact.at == journey_now + timedelta(hours=5)  # 30 s x 600
        assert (contact.journey_id, contact.key, contact.group) == (journey.pk, "L1", "treatment")
        journey_hour = journey_now.replace(minute=0)
        assert cell(workspace, "contact.episode", "treatment", hour=journey_hour + timedelta(
            hours=5)) == 1  # fmt: skip
        assert cell(workspace, "consent.withdrawn", "promotional",
                    hour=journey_hour + timedelta(hours=6)) == 1  # fmt: skip
        fact = RunFact.objects.get()
        assert fact.escalated and fact.opted_out
        # latency sent -> delivered: 2 real seconds are 20 journey minutes on this clock
        assert cell(workspace, "lat.delivered", hour=journey_hour) == 1

        html = client_as("viewer").get(f"/analytics/journeys/{journey.pk}/").content.decode()
        assert 'data-testid="enrolled-count">1<' in html  # "today" is the journey's today
        assert 'data-testid="escalation-rate">100.0%' in html

        incremental = snapshot(workspace)
        rollups_rebuild(workspace)
        assert snapshot(workspace) == incremental
