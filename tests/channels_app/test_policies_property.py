"""Property, at the database level: send_decide never answers "send" when the customer withdrew
consent for that channel and purpose, whatever else is true (other grants, DND, preferences,
templates, the service window, history, the moment)."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.consent.services import consent_grant, consent_withdraw, preferences_set
from channels_app.models.outbox import MESSAGE_STATUSES, Message
from channels_app.policies.selectors import send_decide
from console.models import Customer, Event

CHANNELS = ("sms", "whatsapp", "voice")
PURPOSES = ("transactional", "service", "promotional")
PAIRS = [(c, p) for c in CHANNELS for p in PURPOSES]
_ids = count()


class Rollback(Exception):
    pass


scenario = st.fixed_dictionaries({
    "channel": st.sampled_from(CHANNELS),
    "purpose": st.sampled_from(PURPOSES),
    "granted_before": st.booleans(),
    "other_grants": st.sets(st.sampled_from(PAIRS)),
    "at": st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC)),
    "timezone": st.sampled_from(["Asia/Kolkata", "America/New_York", "Europe/London"]),
    "template_status": st.sampled_from([None, "approved", "APPROVED", "pending"]),
    "session_message": st.booleans(),
    "inbound_minutes_ago": st.none() | st.integers(0, 3000),
    "history": st.lists(st.tuples(st.sampled_from(CHANNELS), st.sampled_from(PURPOSES),
                                  st.sampled_from([s for s, _ in MESSAGE_STATUSES])), max_size=4),
    "preferred": st.permutations(CHANNELS),
    "family": st.sampled_from([None, "promo"]),
})  # fmt: skip


def build(workspace, s) -> Customer:
    customer = Customer.objects.create(
        workspace=workspace,
        external_id=f"P{next(_ids)}",
        phone="+919812345678",
        whatsapp=True,
        timezone=s["timezone"],
    )
    past = timezone.now() - timedelta(days=10)
    for channel, purpose in s["other_grants"] | (
        {(s["channel"], s["purpose"])} if s["granted_before"] else set()
    ):
        consent_grant(
            customer=customer, channel=channel, purpose=purpose, source="api", proof="p", at=past
        )
    consent_withdraw(
        customer=customer,
        channel=s["channel"],
        purpose=s["purpose"],
        source="api",
        at=past + timedelta(days=1),
    )
    preferences_set(customer=customer, changes={"preferred_channels": list(s["preferred"])})
    if s["inbound_minutes_ago"] is not None:
        moment = s["at"] - timedelta(minutes=s["inbound_minutes_ago"])
        Event.objects.create(
            workspace=workspace,
            customer=customer,
            name="inbound.message",
            properties={"channel": "whatsapp"},
            occurred_at=moment,
            received_at=moment,
            idempotency_key=f"e{next(_ids)}",
        )
    for channel, purpose, status in s["history"]:
        Message.objects.create(
            workspace=workspace,
            customer=customer,
            channel=channel,
            purpose=purpose,
            status=status,
            template_family="promo",
            idempotency_key=f"m{next(_ids)}",
            sent_at=s["at"] - timedelta(hours=1),
        )
    return customer


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(s=scenario)
def test_send_decide_never_sends_after_consent_was_withdrawn(workspace, s):
    try:
        with transaction.atomic():
            customer = build(workspace, s)
            decision = send_decide(
                customer=customer,
                channel=s["channel"],
                purpose=s["purpose"],
                template_family=s["family"],
                template_status=s["template_status"],
                session_message=s["session_message"],
                at=s["at"],
            )
            assert decision.action != "send", (s, decision)
            assert decision.reason == f"no_consent:{s['channel']}:{s['purpose']}"
            raise Rollback
    except Rollback:
        pass
