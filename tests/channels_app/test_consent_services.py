"""The consent ledger services: append-only, latest wins, expiry, keywords, audit and timeline."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from channels_app.consent.schemas import ConsentError
from channels_app.consent.selectors import (
    consent_allows,
    consent_history,
    consent_state,
    consent_state_for,
    consent_states_bulk,
    preferences_bulk,
    preferences_for,
)
from channels_app.consent.services import (
    consent_grant,
    consent_keyword_apply,
    consent_record,
    consent_withdraw,
    dnd_set,
    preferences_set,
)
from channels_app.models.consent import ConsentEntry
from channels_app.policy import QuietHours
from console.models import AuditEntry, Customer
from console.timeline import timeline_entries


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace,
        external_id="C1",
        name="Priya Sharma",
        phone="+919812345678",
        whatsapp=True,
    )


def grant(customer, **kw):
    kw.setdefault("channel", "whatsapp")
    kw.setdefault("purpose", "promotional")
    kw.setdefault("source", "form")
    kw.setdefault("proof", "Form #1")
    return consent_grant(customer=customer, **kw)


def test_an_entry_cannot_be_changed_or_deleted_in_any_way(customer):
    entry = grant(customer)
    entry.status = "withdrawn"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    with pytest.raises(ValueError, match="append-only"):
        ConsentEntry.objects.filter(pk=entry.pk).update(status="withdrawn")
    with pytest.raises(ValueError, match="append-only"):
        ConsentEntry.objects.filter(pk=entry.pk).delete()
    assert ConsentEntry.objects.get(pk=entry.pk).status == "granted"


def test_erasing_a_customer_still_cascades_to_their_ledger(customer):
    grant(customer)
    customer.delete()
    assert not ConsentEntry.objects.exists()


def test_the_latest_entry_wins_and_history_keeps_every_entry(customer):
    now = timezone.now()
    grant(customer, at=now - timedelta(days=3))
    consent_withdraw(
        customer=customer,
        channel="whatsapp",
        purpose="promotional",
        source="keyword",
        at=now - timedelta(days=2),
    )
    assert (
        consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "withdrawn"
    )
    grant(customer, at=now - timedelta(days=1))
    matrix = consent_state_for(customer)
    assert matrix[("whatsapp", "promotional")].status == "granted"
    assert matrix[("whatsapp", "promotional")].entry.proof == "Form #1"
    assert matrix[("sms", "promotional")].status == "none"
    assert len(matrix) == 9
    assert [e.status for e in consent_history(customer)] == ["granted", "withdrawn", "granted"]
    # back-dated: the state at an earlier moment is what was in force then
    assert (
        consent_state(
            customer=customer,
            channel="whatsapp",
            purpose="promotional",
            at=now - timedelta(hours=36),
        )
        == "withdrawn"
    )


def test_a_backdated_withdrawal_does_not_override_a_later_grant(customer):
    now = timezone.now()
    grant(customer, at=now - timedelta(hours=1))
    consent_withdraw(
        customer=customer,
        channel="whatsapp",
        purpose="promotional",
        source="import",
        at=now - timedelta(days=5),
    )
    assert consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "granted"


def test_an_expired_grant_no_longer_allows_sending(customer):
    now = timezone.now()
    grant(customer, at=now - timedelta(days=10), expires_at=now - timedelta(days=1))
    assert consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "expired"
    assert consent_allows(customer=customer, channel="whatsapp", purpose="promotional") == (
        False,
        "no_consent:whatsapp:promotional",
    )
    assert consent_allows(
        customer=customer, channel="whatsapp", purpose="promotional", at=now - timedelta(days=2)
    ) == (True, "")


def test_transactional_is_allowed_unless_withdrawn_and_promotional_needs_a_grant(customer):
    assert consent_allows(customer=customer, channel="sms", purpose="transactional") == (True, "")
    assert consent_allows(customer=customer, channel="sms", purpose="service") == (
        False,
        "no_consent:sms:service",
    )
    consent_withdraw(
        customer=customer,
        channel="sms",
        purpose="transactional",
        source="support",
        reason="Asked for no SMS at all",
    )
    assert consent_allows(customer=customer, channel="sms", purpose="transactional") == (
        False,
        "no_consent:sms:transactional",
    )


def test_support_must_give_a_reason_both_to_grant_and_to_withdraw(customer):
    for status in ("granted", "withdrawn"):
        with pytest.raises(ConsentError) as info:
            consent_record(
                customer=customer,
                channel="sms",
                purpose="promotional",
                status=status,
                source="support",
                proof="ticket 1",
            )
        assert "reason" in info.value.fields
    assert not ConsentEntry.objects.exists()


def test_a_promotional_grant_from_a_form_needs_proof(customer):
    with pytest.raises(ConsentError) as info:
        consent_grant(customer=customer, channel="sms", purpose="promotional", source="form")
    assert "proof" in info.value.fields


@pytest.mark.parametrize(
    "field, value",
    [
        ("channel", "email"),
        ("purpose", "marketing"),
        ("status", "maybe"),
        ("source", "guess"),
    ],
)
def test_bad_values_are_named_and_nothing_is_written(customer, field, value):
    data = {
        "channel": "sms",
        "purpose": "promotional",
        "status": "granted",
        "source": "form",
        "proof": "x",
        field: value,
    }
    with pytest.raises(ConsentError) as info:
        consent_record(customer=customer, **data)
    assert field in info.value.fields
    assert not ConsentEntry.objects.exists()


def test_a_future_time_and_an_expiry_before_the_grant_are_refused(customer):
    now = timezone.now()
    with pytest.raises(ConsentError) as info:
        grant(customer, at=now + timedelta(days=1))
    assert "at" in info.value.fields
    with pytest.raises(ConsentError) as info:
        grant(customer, at=now - timedelta(days=1), expires_at=now - timedelta(days=2))
    assert "expires_at" in info.value.fields


def test_a_change_is_audited_and_appears_on_the_timeline_with_its_channel(customer, members):
    consent_withdraw(
        customer=customer,
        channel="whatsapp",
        purpose="promotional",
        source="support",
        reason="Customer called to stop offers",
        actor=members["support"],
        ip="10.0.0.1",
    )
    audit = AuditEntry.objects.get(action="consent.withdrawn")
    assert audit.actor == members["support"]
    assert audit.target_id == "C1" and audit.ip == "10.0.0.1"
    assert "Customer called to stop offers" in audit.summary
    entries, _ = timeline_entries(customer, kinds={"consent"})
    assert len(entries) == 1
    assert entries[0].channel == "whatsapp"
    assert "withdrawn" in entries[0].summary and "stop offers" in entries[0].summary
    only_sms, _ = timeline_entries(customer, channels={"sms"})
    assert only_sms == []


@pytest.mark.parametrize(
    "text, action",
    [
        ("STOP", "withdraw"),
        ("stop!", "withdraw"),
        (" Unsubscribe ", "withdraw"),
        ("बंद", "withdraw"),
        ("रोकें", "withdraw"),
        ("START", "grant"),
        ("शुरू", "grant"),
    ],
)
def test_keywords_withdraw_or_regrant_promotional_consent_on_that_channel(customer, text, action):
    result = consent_keyword_apply(customer=customer, channel="sms", text=text)
    assert result is not None and result.action == action
    expected = "withdrawn" if action == "withdraw" else "granted"
    assert consent_state(customer=customer, channel="sms", purpose="promotional") == expected
    assert consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "none"
    assert result.entry.source == "keyword" and text.strip() in result.entry.proof
    assert ("START" if action == "withdraw" else "STOP") in result.confirmation


def test_an_ordinary_reply_is_not_a_keyword(customer):
    assert (
        consent_keyword_apply(customer=customer, channel="sms", text="please stop calling me")
        is None
    )
    assert not ConsentEntry.objects.exists()


def test_hindi_speakers_get_the_confirmation_in_hindi(customer):
    customer.language = "hi"
    customer.save()
    result = consent_keyword_apply(customer=customer, channel="whatsapp", text="बंद")
    assert result.language == "hi" and "START" in result.confirmation
    assert "नहीं मिलेंगे" in result.confirmation


def test_preferences_and_dnd_feed_the_send_policy_inputs(customer, members):
    assert preferences_for(customer).preferred_channels == ()
    preferences_set(
        customer=customer,
        changes={
            "preferred_channels": ["whatsapp", "sms"],
            "language": "hi",
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "do_not_call": True,
        },
        actor=members["support"],
    )
    dnd_set(
        customer=customer,
        dnd=True,
        categories=[1, 4],
        source="NCPR scrub",
        actor=members["support"],
    )
    prefs = preferences_for(Customer.objects.get(pk=customer.pk))
    assert prefs.preferred_channels == ("whatsapp", "sms")
    assert prefs.language == "hi"
    assert prefs.quiet_hours == QuietHours(start=time(22), end=time(8))
    assert prefs.do_not_call and prefs.dnd
    assert prefs.dnd_blocked_categories == frozenset({1, 4})
    assert preferences_bulk([customer])[customer.id].dnd
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"consent.preferences", "consent.dnd"} <= actions


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"preferred_channels": ["sms", "sms"]}, "preferred_channels"),
        ({"preferred_channels": ["fax"]}, "preferred_channels"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_end"),
        ({"language": "xx"}, "language"),
    ],
)
def test_bad_preferences_are_named(customer, changes, field):
    with pytest.raises(ConsentError) as info:
        preferences_set(customer=customer, changes=changes)
    assert field in info.value.fields


def test_dnd_categories_outside_1_to_8_are_refused(customer):
    with pytest.raises(ConsentError) as info:
        dnd_set(customer=customer, dnd=True, categories=[9])
    assert "categories" in info.value.fields


def test_bulk_states_match_the_single_reads(customer, workspace):
    other = Customer.objects.create(workspace=workspace, external_id="C2")
    grant(customer)
    states = consent_states_bulk(customer_ids=[customer.id, other.id])
    assert states[customer.id][("whatsapp", "promotional")] == "granted"
    assert states[other.id][("whatsapp", "promotional")] == "none"
