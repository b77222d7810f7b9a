"""The workspace policy (defaults, validated updates, audit), channel_best and cost estimates."""

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from channels_app.consent.services import consent_grant, consent_withdraw, preferences_set
from channels_app.models.outbox import Message
from channels_app.models.policies import SendPolicy
from channels_app.policies.schemas import PolicyError
from channels_app.policies.selectors import channel_best, message_cost_estimate, policy_get
from channels_app.policies.services import policy_update
from console.models import AuditEntry, Customer

IST = ZoneInfo("Asia/Kolkata")
NOON = datetime(2027, 3, 10, 12, tzinfo=IST)
_keys = count()


@pytest.fixture
def customer(workspace):
    customer = Customer.objects.create(
        workspace=workspace, external_id="C1", phone="+919812345678", whatsapp=True
    )
    for channel in ("sms", "whatsapp", "voice"):
        consent_grant(
            customer=customer,
            channel=channel,
            purpose="promotional",
            source="api",
            proof="form-1",
            at=timezone.now() - timedelta(days=3),
        )
    return customer


# --- policy_get / policy_update ---------------------------------------------------------------


def test_reading_a_policy_never_stored_gives_the_defaults_and_writes_nothing(workspace):
    config = policy_get(workspace=workspace)
    assert policy_get(workspace=workspace) == config
    # Reads write nothing: a batch prepared outside SQLite's write lock decides sends with it.
    assert not SendPolicy.objects.filter(workspace=workspace).exists()
    assert (config.promotional_daily_cap, config.total_daily_cap) == (1, 3)
    assert config.echo_window_minutes == 360
    windows = {(w.channel, w.purpose, w.start.hour, w.end.hour) for w in config.send_windows}
    assert windows == {
        ("sms", "promotional", 9, 21),
        ("voice", "promotional", 9, 21),
        ("voice", "collection", 8, 19),
    }


def test_an_update_is_saved_and_audited_with_before_and_after(workspace, members):
    config = policy_update(
        workspace=workspace,
        data={"promotional_daily_cap": 2, "ncpr_category": 5},
        actor=members["operations"],
    )
    assert (config.promotional_daily_cap, config.ncpr_category) == (2, 5)
    assert policy_get(workspace=workspace).promotional_daily_cap == 2
    entry = AuditEntry.objects.get(workspace=workspace, action="policies.update")
    assert entry.actor_label == members["operations"].username
    assert entry.before["promotional_daily_cap"] == 1
    assert entry.after["promotional_daily_cap"] == 2
    assert "ncpr_category" in entry.summary and "promotional_daily_cap" in entry.summary


@pytest.mark.parametrize(
    "data, field",
    [
        ({"total_daily_cap": 0, "promotional_daily_cap": 1}, "total_daily_cap"),
        ({"ncpr_category": 9}, "ncpr_category"),
        ({"echo_window_minutes": -5}, "echo_window_minutes"),
        (
            {
                "send_windows": [
                    {"channel": "fax", "purpose": "promotional", "start": "09:00", "end": "21:00"}
                ]
            },
            "send_windows.0.channel",
        ),
        (
            {
                "send_windows": [
                    {"channel": "sms", "purpose": "promotional", "start": "09:00", "end": "09:00"}
                ]
            },
            "send_windows.0.end",
        ),
        ({"costs": {"sms": {"exotel": {"promotional": "-1"}}}}, "costs.sms.exotel.promotional"),
        ({"costs": {"sms": {"exotel": {"marketing": "1"}}}}, "costs"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_update_names_the_field_and_changes_nothing(workspace, data, field):
    before = policy_get(workspace=workspace)
    with pytest.raises(PolicyError) as caught:
        policy_update(workspace=workspace, data=data)
    assert field in caught.value.fields
    assert policy_get(workspace=workspace) == before
    assert not AuditEntry.objects.filter(action="policies.update").exists()


def test_policies_of_two_workspaces_are_separate(workspace, other_workspace):
    policy_update(workspace=workspace, data={"promotional_daily_cap": 0})
    assert policy_get(workspace=other_workspace).promotional_daily_cap == 1


# --- channel_best -----------------------------------------------------------------------------


def test_the_customers_first_preferred_channel_wins_when_allowed(customer):
    preferences_set(customer=customer, changes={"preferred_channels": ["sms", "whatsapp"]})
    assert channel_best(customer=customer, purpose="promotional", at=NOON) == ("sms", [])


def test_a_preferred_channel_without_consent_is_passed_over_with_the_reason(customer):
    preferences_set(customer=customer, changes={"preferred_channels": ["sms", "whatsapp"]})
    consent_withdraw(customer=customer, channel="sms", purpose="promotional", source="api")
    assert channel_best(customer=customer, purpose="promotional", at=NOON) == (
        "whatsapp",
        ["sms: no_consent:sms:promotional"],
    )


def test_a_stated_preference_is_not_overridden_by_other_channels(customer):
    preferences_set(customer=customer, changes={"preferred_channels": ["voice"]})
    night = datetime(2027, 3, 10, 22, tzinfo=IST)
    assert channel_best(customer=customer, purpose="promotional", at=night) == (
        None,
        ["voice: quiet_hours"],
    )


def history(customer, channel, status, n):
    for _ in range(n):
        Message.objects.create(
            workspace=customer.workspace,
            customer=customer,
            channel=channel,
            purpose="service",
            status=status,
            idempotency_key=f"h{next(_keys)}",
            created_at=NOON - timedelta(days=10),
            sent_at=NOON - timedelta(days=10),
        )


def test_without_a_preference_the_most_engaged_channel_wins(customer):
    assert channel_best(customer=customer, purpose="promotional", at=NOON)[0] == "whatsapp"
    history(customer, "whatsapp", "failed", 4)
    history(customer, "sms", "delivered", 4)
    assert channel_best(customer=customer, purpose="promotional", at=NOON) == ("sms", [])


def test_unreachable_channels_are_skipped(customer):
    customer.whatsapp = False
    customer.save()
    assert channel_best(customer=customer, purpose="promotional", at=NOON) == (
        "sms",
        ["whatsapp: unreachable"],
    )


def test_template_statuses_given_to_channel_best_are_respected(customer):
    chosen = channel_best(
        customer=customer,
        purpose="promotional",
        at=NOON,
        template_statuses={"whatsapp": "pending", "sms": "approved"},
    )
    assert chosen == ("sms", ["whatsapp: template_not_approved"])


# --- costs ------------------------------------------------------------------------------------


def test_sms_costs_per_segment_of_its_category(workspace):
    cost = message_cost_estimate(
        workspace=workspace, channel="sms", category="promotional", segments=3, provider="exotel"
    )
    assert cost == Decimal("0.3600")


def test_whatsapp_utility_is_free_inside_the_service_window_and_marketing_is_not(workspace):
    def estimate(category, inside):
        return message_cost_estimate(
            workspace=workspace,
            channel="whatsapp",
            category=category,
            inside_service_window=inside,
            provider="meta",
        )

    assert estimate("utility", True) == Decimal("0")
    assert estimate("utility", False) == Decimal("0.1150")
    assert estimate("MARKETING", True) == Decimal("0.7846")


def test_voice_is_charged_per_started_minute(workspace):
    cost = message_cost_estimate(
        workspace=workspace, channel="voice", category="", minutes=2.2, provider="exotel"
    )
    assert cost == Decimal("1.8000")


def test_without_a_provider_the_estimate_takes_the_dearest(workspace):
    policy_update(
        workspace=workspace,
        data={"costs": {"sms": {"a": {"service": "0.1"}, "b": {"service": "0.25"}}}},
    )
    assert message_cost_estimate(workspace=workspace, channel="sms", category="service") == (
        Decimal("0.2500")
    )
    with pytest.raises(ValueError, match="promotional"):
        message_cost_estimate(workspace=workspace, channel="sms", category="promotional")


def test_engagement_ranks_reads_above_deliveries_above_nothing_above_failures():
    from channels_app.policies.inputs import ChannelHistory

    unknown = ChannelHistory().score
    delivered = ChannelHistory(attempts=4, delivered=4).score
    read = ChannelHistory(attempts=4, delivered=4, read=4).score
    failed = ChannelHistory(attempts=4).score
    assert failed < unknown < delivered < read <= 1
