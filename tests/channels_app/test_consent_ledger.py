from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels_app.consent_ledger import (
    CHANNELS,
    PURPOSES,
    SOURCES,
    ConsentEntry,
    consent_current,
    keyword_action,
)

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=IST)


def entry(status, at, channel="sms", purpose="promotional", source="form", expires_at=None):
    return ConsentEntry(channel, purpose, status, source, at, expires_at)


# --- ledger --------------------------------------------------------------------------------------


def test_the_constants_name_every_channel_purpose_and_source():
    assert CHANNELS == ("sms", "whatsapp", "voice")
    assert PURPOSES == ("transactional", "service", "promotional")
    assert SOURCES == ("form", "keyword", "ivr", "support", "import", "api")


@pytest.mark.parametrize(
    "field, value",
    [("channel", "email"), ("purpose", "otp"), ("status", "maybe"), ("source", "guess")],
)
def test_entries_with_unknown_values_are_refused(field, value):
    fields = {"channel": "sms", "purpose": "service", "status": "granted", "source": "form"}
    with pytest.raises(ValueError, match=field):
        ConsentEntry(**(fields | {field: value}), at=NOW)


def test_entries_need_aware_times():
    with pytest.raises(ValueError, match="aware"):
        entry("granted", datetime(2026, 12, 5, 12))


def test_an_empty_ledger_gives_none_for_every_channel_and_purpose():
    states = consent_current([], now=NOW)
    assert set(states) == {(c, p) for c in CHANNELS for p in PURPOSES}
    assert {state.status for state in states.values()} == {"none"}
    assert not states[("sms", "promotional")].granted


def test_the_latest_entry_wins_whatever_the_order_given():
    grant = entry("granted", NOW - timedelta(days=2))
    withdraw = entry("withdrawn", NOW - timedelta(days=1), source="keyword")
    state = consent_current([withdraw, grant], now=NOW)[("sms", "promotional")]
    assert state.status == "withdrawn"
    assert state.entry == withdraw


def test_a_regrant_after_a_withdrawal_is_in_force():
    ledger = [
        entry("granted", NOW - timedelta(days=3)),
        entry("withdrawn", NOW - timedelta(days=2)),
        entry("granted", NOW - timedelta(days=1), source="ivr"),
    ]
    state = consent_current(ledger, now=NOW)[("sms", "promotional")]
    assert state.granted and state.entry.source == "ivr"


def test_entries_at_the_same_moment_are_settled_by_the_order_given():
    at = NOW - timedelta(hours=1)
    grant, withdraw = entry("granted", at), entry("withdrawn", at)
    assert consent_current([grant, withdraw], now=NOW)[("sms", "promotional")].status == "withdrawn"
    assert consent_current([withdraw, grant], now=NOW)[("sms", "promotional")].status == "granted"


def test_same_moment_in_different_zones_is_the_same_moment():
    grant = entry("granted", datetime(2026, 12, 5, 6, 30, tzinfo=ZoneInfo("UTC")))
    withdraw = entry("withdrawn", datetime(2026, 12, 5, 12, 0, tzinfo=IST))
    assert consent_current([grant, withdraw], now=NOW)[("sms", "promotional")].status == "withdrawn"


def test_an_expired_grant_counts_as_expired_not_granted():
    grant = entry("granted", NOW - timedelta(days=400), expires_at=NOW - timedelta(seconds=1))
    state = consent_current([grant], now=NOW)[("sms", "promotional")]
    assert state.status == "expired" and not state.granted
    assert state.entry == grant


def test_a_grant_expiring_exactly_now_has_expired_and_one_expiring_later_has_not():
    assert (
        consent_current([entry("granted", NOW, expires_at=NOW)], now=NOW)[
            ("sms", "promotional")
        ].status
        == "expired"
    )
    later = entry("granted", NOW, expires_at=NOW + timedelta(days=1))
    assert consent_current([later], now=NOW)[("sms", "promotional")].granted


def test_entries_dated_in_the_future_are_not_yet_in_force():
    future = entry("withdrawn", NOW + timedelta(minutes=5))
    assert consent_current([entry("granted", NOW), future], now=NOW)[("sms", "promotional")].granted


def test_consent_is_kept_per_channel_and_purpose():
    ledger = [
        entry("granted", NOW, channel="whatsapp", purpose="promotional"),
        entry("withdrawn", NOW, channel="sms", purpose="service"),
    ]
    states = consent_current(ledger, now=NOW)
    assert states[("whatsapp", "promotional")].granted
    assert states[("sms", "service")].status == "withdrawn"
    assert states[("sms", "promotional")].status == "none"
    assert states[("whatsapp", "service")].status == "none"


LEDGER_ENTRIES = st.builds(
    ConsentEntry,
    channel=st.just("sms"),
    purpose=st.just("promotional"),
    status=st.sampled_from(["granted", "withdrawn"]),
    source=st.sampled_from(SOURCES),
    at=st.integers(0, 50).map(lambda minutes: NOW - timedelta(minutes=minutes)),
)


@given(st.lists(LEDGER_ENTRIES, max_size=12))
def test_the_state_is_that_of_the_last_of_the_latest_entries(ledger):
    state = consent_current(ledger, now=NOW)[("sms", "promotional")]
    if not ledger:
        assert state.status == "none"
        return
    latest = max(e.at for e in ledger)
    assert state.entry is [e for e in ledger if e.at == latest][-1]
    assert state.status == state.entry.status


# --- keywords ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop. ", "STOPALL", "Unsubscribe!", "cancel", "END", "quit", "STOP 🙏"],
)
def test_english_opt_out_keywords_withdraw(text):
    assert keyword_action(text) == "withdraw"


@pytest.mark.parametrize("text", ["बंद", " बंद। ", "रोकें", "रुको", "BAND", "roko", "Roko!"])
def test_hindi_and_hinglish_opt_out_keywords_withdraw(text):
    assert keyword_action(text, "hi") == "withdraw"


@pytest.mark.parametrize("text", ["START", "unstop", "Subscribe", "शुरू", "शुरू!"])
def test_opt_in_keywords_grant(text):
    assert keyword_action(text) == "grant"


@pytest.mark.parametrize(
    "text",
    ["please stop", "stop sending", "STOP STOP", "don't stop", "STOPPED", "", "  ", "बंद करो"],
)
def test_keywords_count_only_as_the_whole_message(text):
    assert keyword_action(text) is None


def test_hindi_keywords_work_whatever_the_conversation_language():
    assert keyword_action("बंद", "en") == "withdraw"
    assert keyword_action("STOP", "hi") == "withdraw"
    assert keyword_action("शुरू", "ta") == "grant"


def test_the_hindi_vowel_sign_at_the_end_of_a_keyword_is_not_trimmed_as_punctuation():
    # "रोकें" ends in combining marks; trimming them would leave "रोक", which is not a keyword.
    assert keyword_action("रोक") is None
    assert keyword_action("रोकें") == "withdraw"
