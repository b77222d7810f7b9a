"""send_decide with real rows: every decision reason, reached the way production reaches it."""

from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from channels_app.consent.services import consent_grant, consent_withdraw, dnd_set, preferences_set
from channels_app.models.outbox import Message
from channels_app.policies.selectors import send_decide
from channels_app.policies.services import policy_update
from console.models import Customer, Event

IST = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")
_keys = count()


def ist(day, hour, minute=0, second=0):
    """A moment in March 2027 (after every consent grant below, which are dated now)."""
    return datetime(2027, 3, day, hour, minute, second, tzinfo=IST)


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace, external_id="C1", name="Priya", phone="+919812345678", whatsapp=True
    )


def grant(customer, channel, purpose):
    consent_grant(
        customer=customer,
        channel=channel,
        purpose=purpose,
        source="api",
        proof="t1",
        at=timezone.now() - timedelta(days=30),
    )


def grant_all(customer):
    for channel in ("sms", "whatsapp", "voice"):
        for purpose in ("service", "promotional"):
            grant(customer, channel, purpose)


def message(customer, *, channel="whatsapp", purpose="promotional", status="sent", at, family=""):
    pending = status in ("queued", "deferred")
    return Message.objects.create(
        workspace=customer.workspace,
        customer=customer,
        channel=channel,
        purpose=purpose,
        status=status,
        template_family=family,
        idempotency_key=f"k{next(_keys)}",
        created_at=at,
        sent_at=None if pending else at,
        due_at=at if pending else None,
    )


def decide(customer, **kwargs):
    kwargs.setdefault("channel", "whatsapp")
    kwargs.setdefault("purpose", "promotional")
    kwargs.setdefault("at", ist(10, 12))
    if kwargs["channel"] == "whatsapp" and not kwargs.get("session_message"):
        kwargs.setdefault("template_status", "approved")
    return send_decide(customer=customer, **kwargs)


# --- consent, DND, do-not-call ----------------------------------------------------------------


def test_a_consented_promotional_whatsapp_at_noon_is_sent(customer):
    grant_all(customer)
    assert decide(customer).action == "send"


def test_withdrawn_whatsapp_promotional_consent_blocks_with_its_reason(customer):
    grant_all(customer)
    consent_withdraw(customer=customer, channel="whatsapp", purpose="promotional", source="api")
    decision = decide(customer)
    assert (decision.action, decision.reason) == ("block", "no_consent:whatsapp:promotional")
    assert decide(customer, channel="sms", purpose="promotional").action == "send"


def test_transactional_messages_go_without_a_grant_but_not_after_a_withdrawal(customer):
    assert decide(customer, channel="sms", purpose="transactional").action == "send"
    consent_withdraw(customer=customer, channel="sms", purpose="transactional", source="api")
    assert decide(customer, channel="sms", purpose="transactional").reason == (
        "no_consent:sms:transactional"
    )


def test_a_marketing_template_is_checked_as_promotional_whatever_the_caller_says(customer):
    grant(customer, "whatsapp", "service")
    decision = decide(customer, purpose="transactional", template_category="MARKETING")
    assert decision.reason == "no_consent:whatsapp:promotional"


def test_dnd_blocks_promotional_sms_but_not_transactional(customer):
    grant_all(customer)
    dnd_set(customer=customer, dnd=True, source="NCPR scrub")
    assert decide(customer, channel="sms").reason == "dnd"
    assert decide(customer, channel="sms", purpose="transactional").action == "send"


def test_dnd_for_some_categories_blocks_only_a_workspace_in_one_of_them(customer, workspace):
    grant_all(customer)
    dnd_set(customer=customer, dnd=True, categories=[2, 7])
    policy_update(workspace=workspace, data={"ncpr_category": 1})
    assert decide(customer, channel="sms").action == "send"
    policy_update(workspace=workspace, data={"ncpr_category": 7})
    assert decide(customer, channel="sms").reason == "dnd"


def test_do_not_call_blocks_every_call(customer):
    grant_all(customer)
    preferences_set(customer=customer, changes={"do_not_call": True})
    decision = decide(customer, channel="voice", purpose="transactional")
    assert (decision.action, decision.reason) == ("block", "do_not_call")


# --- templates and the WhatsApp service window ------------------------------------------------


def test_a_whatsapp_template_must_be_approved(customer):
    grant_all(customer)
    assert decide(customer, template_status="pending").reason == "template_not_approved"
    assert decide(customer, template_status=None).reason == "template_not_approved"
    assert decide(customer, template_status="approved").action == "send"


def inbound(customer, at, channel="whatsapp"):
    Event.objects.create(
        workspace=customer.workspace,
        customer=customer,
        name="inbound.message",
        properties={"channel": channel, "text": "hi"},
        occurred_at=at,
        received_at=at,
        idempotency_key=f"in{next(_keys)}",
    )


def test_free_form_whatsapp_needs_an_inbound_message_in_the_last_24_hours(customer):
    grant_all(customer)
    at = ist(10, 12)
    assert decide(customer, purpose="service", session_message=True, at=at).reason == (
        "outside_service_window"
    )
    inbound(customer, at - timedelta(hours=25))
    inbound(customer, at - timedelta(hours=1), channel="sms")
    assert decide(customer, purpose="service", session_message=True, at=at).reason == (
        "outside_service_window"
    )
    inbound(customer, at - timedelta(hours=23, minutes=59))
    assert decide(customer, purpose="service", session_message=True, at=at).action == "send"


# --- caps -------------------------------------------------------------------------------------


def test_the_promotional_cap_resets_at_midnight_in_india(customer):
    grant_all(customer)
    message(customer, at=ist(10, 23, 59))
    assert decide(customer, at=ist(10, 23, 59, 30)).reason == "cap:daily"
    assert decide(customer, at=ist(11, 0, 1)).action == "send"


def test_the_promotional_cap_counts_the_day_in_the_customers_own_zone(customer):
    grant_all(customer)
    customer.timezone = "America/New_York"
    customer.save()
    sent = datetime(2027, 3, 10, 23, 30, tzinfo=NEW_YORK)  # 11 March 10:00 in India
    message(customer, at=sent)
    assert decide(customer, at=datetime(2027, 3, 10, 23, 59, tzinfo=NEW_YORK)).reason == "cap:daily"
    # Same Indian day as the send, but a new day in New York.
    assert decide(customer, at=datetime(2027, 3, 11, 0, 1, tzinfo=NEW_YORK)).action == "send"


def test_a_queued_promotion_counts_so_a_burst_cannot_pass_the_cap(customer):
    grant_all(customer)
    queued = message(customer, status="queued", at=ist(10, 11))
    assert decide(customer).reason == "cap:daily"
    # Re-checking the queued message itself at send time does not count it against itself.
    assert decide(customer, message_id=queued.id).action == "send"


def test_failed_and_blocked_messages_do_not_count(customer):
    grant_all(customer)
    message(customer, status="failed", at=ist(10, 11))
    message(customer, status="blocked", at=ist(10, 11))
    assert decide(customer).action == "send"


def test_the_total_cap_counts_service_messages_and_exempts_transactional_ones(customer):
    grant_all(customer)
    for hour in (9, 10, 11):
        message(customer, purpose="service", channel="sms", at=ist(10, hour))
        message(customer, purpose="transactional", channel="sms", at=ist(10, hour))
    decision = decide(customer, purpose="service")
    assert (decision.action, decision.reason) == ("block", "cap:daily_total")
    assert decide(customer, purpose="transactional").action == "send"


def test_a_workspace_can_raise_its_caps(customer, workspace):
    grant_all(customer)
    message(customer, at=ist(10, 9))
    policy_update(workspace=workspace, data={"promotional_daily_cap": 2})
    assert decide(customer).action == "send"


# --- echo -------------------------------------------------------------------------------------


def test_the_same_family_on_another_channel_within_six_hours_is_an_echo(customer):
    grant_all(customer)
    message(customer, channel="whatsapp", purpose="service", family="dispatch", at=ist(10, 10))
    at = ist(10, 15, 59)
    decision = decide(customer, channel="sms", purpose="service", template_family="dispatch", at=at)
    assert (decision.action, decision.reason) == ("block", "echo")
    assert (
        decide(customer, channel="sms", purpose="service", template_family="other", at=at).action
        == "send"
    )
    later = ist(10, 16, 1)
    assert (
        decide(
            customer, channel="sms", purpose="service", template_family="dispatch", at=later
        ).action
        == "send"
    )


def test_a_failed_send_on_another_channel_is_not_an_echo(customer):
    grant_all(customer)
    message(
        customer, channel="whatsapp", purpose="service", status="failed", family="d", at=ist(10, 11)
    )
    assert decide(customer, channel="sms", purpose="service", template_family="d").action == "send"


# --- hours ------------------------------------------------------------------------------------


def test_a_promotional_sms_at_night_is_deferred_to_nine_the_next_morning(customer):
    grant_all(customer)
    decision = decide(customer, channel="sms", at=ist(10, 22, 30))
    assert (decision.action, decision.reason) == ("defer", "quiet_hours")
    assert decision.until == ist(11, 9)


def test_a_workspace_window_narrows_the_regulatory_one(customer, workspace):
    grant_all(customer)
    windows = [{"channel": "sms", "purpose": "promotional", "start": "10:30", "end": "20:00"}]
    policy_update(workspace=workspace, data={"send_windows": windows})
    decision = decide(customer, channel="sms", at=ist(10, 9, 15))
    assert (decision.action, decision.until) == ("defer", ist(10, 10, 30))


def test_a_collection_call_after_seven_pm_waits_for_eight_am(customer):
    grant_all(customer)
    decision = decide(
        customer, channel="voice", purpose="service", collection=True, at=ist(10, 19, 5)
    )
    assert (decision.reason, decision.until) == ("quiet_hours", ist(11, 8))


def test_personal_quiet_hours_defer_service_messages_to_their_end(customer):
    grant_all(customer)
    preferences_set(customer=customer, changes={"quiet_start": "22:00", "quiet_end": "07:30"})
    decision = decide(customer, purpose="service", at=ist(10, 23))
    assert (decision.action, decision.until) == ("defer", ist(11, 7, 30))
    assert decide(customer, purpose="transactional", at=ist(10, 23)).action == "send"
