from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from channels_app.policy import (
    CHANNELS,
    PURPOSES,
    ChannelOption,
    Decision,
    EchoCheck,
    FrequencyCaps,
    QuietHours,
    SendCheck,
    SendWindow,
    SentToday,
    best_channel,
    decide_send,
    local_day_bounds,
    next_allowed_moment,
    sends_on_local_day,
)

IST = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SEND = Decision("send", "", None, "Allowed now.")


def ist(day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=IST)


def check(**overrides):
    fields = {"now": ist(5, 12), "channel": "sms", "purpose": "promotional", "consent": "granted"}
    return SendCheck(**(fields | overrides))


def decide(**overrides):
    return decide_send(check(**overrides))


# --- inputs --------------------------------------------------------------------------------------


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        check(now=datetime(2026, 12, 5, 12))


@pytest.mark.parametrize(
    "field, value",
    [("channel", "email"), ("purpose", "otp"), ("consent", "yes"), ("customer_tz", "Mars/Base")],
)
def test_unknown_input_values_are_refused(field, value):
    with pytest.raises(ValueError):
        check(**{field: value})


def test_the_customer_zone_defaults_to_india():
    assert check().customer_tz == "Asia/Kolkata"


# --- consent -------------------------------------------------------------------------------------


def test_a_promotional_sms_with_consent_at_noon_is_sent():
    decision = decide()
    assert (decision.action, decision.reason, decision.until) == ("send", "", None)


@pytest.mark.parametrize("consent", ["none", "withdrawn", "expired"])
@pytest.mark.parametrize("purpose", ["promotional", "service"])
def test_service_and_promotional_messages_need_a_current_grant(consent, purpose):
    decision = decide(
        channel="whatsapp", purpose=purpose, consent=consent, template_status="APPROVED"
    )
    assert (decision.action, decision.reason) == ("block", f"no_consent:whatsapp:{purpose}")
    assert decision.detail


def test_transactional_messages_count_as_consented_unless_withdrawn():
    assert decide(purpose="transactional", consent="none").action == "send"
    assert decide(purpose="transactional", consent="expired").action == "send"
    withdrawn = decide(purpose="transactional", consent="withdrawn")
    assert (withdrawn.action, withdrawn.reason) == ("block", "no_consent:sms:transactional")


# --- DND, do-not-call ----------------------------------------------------------------------------


def test_a_fully_blocked_dnd_number_gets_no_promotional_sms_or_call():
    assert decide(dnd=True).reason == "dnd"
    assert decide(channel="voice", dnd=True).reason == "dnd"


def test_dnd_categories_block_only_the_workspaces_category():
    blocked = frozenset({1, 2})
    assert decide(dnd=True, dnd_blocked_categories=blocked, workspace_category=1).reason == "dnd"
    assert decide(dnd=True, dnd_blocked_categories=blocked, workspace_category=8).action == "send"


def test_dnd_with_categories_but_no_workspace_category_is_treated_as_blocked():
    assert decide(dnd=True, dnd_blocked_categories=frozenset({1})).reason == "dnd"


def test_dnd_does_not_stop_transactional_or_service_sms_or_whatsapp():
    assert decide(dnd=True, purpose="transactional").action == "send"
    assert decide(dnd=True, purpose="service").action == "send"
    assert decide(dnd=True, channel="whatsapp", template_status="APPROVED").action == "send"


def test_do_not_call_blocks_every_call_but_not_sms():
    assert (
        decide(channel="voice", purpose="transactional", do_not_call=True).reason == "do_not_call"
    )
    assert decide(do_not_call=True).action == "send"


# --- WhatsApp ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, "PENDING", "REJECTED", "PAUSED", "DISABLED"])
def test_a_whatsapp_template_must_be_approved(status):
    decision = decide(channel="whatsapp", template_status=status)
    assert (decision.action, decision.reason) == ("block", "template_not_approved")


def test_template_status_is_read_in_any_case():
    assert decide(channel="whatsapp", template_status="approved").action == "send"


def test_a_free_form_message_needs_a_customer_message_in_the_last_24_hours():
    inside = decide(
        channel="whatsapp",
        purpose="service",
        session_message=True,
        last_inbound_at=ist(5, 12) - timedelta(hours=23, minutes=59),
    )
    assert inside.action == "send"
    for last in (None, ist(4, 12), ist(1, 12)):
        outside = decide(
            channel="whatsapp", purpose="service", session_message=True, last_inbound_at=last
        )
        assert (outside.action, outside.reason) == ("block", "outside_service_window")


# --- caps ----------------------------------------------------------------------------------------


def test_the_promotional_daily_cap_blocks_at_the_limit():
    caps = FrequencyCaps(promotional_daily=2)
    assert decide(caps=caps, sent_today=SentToday(promotional=1, total=1)).action == "send"
    assert decide(caps=caps, sent_today=SentToday(promotional=2, total=2)).reason == "cap:daily"


def test_the_total_daily_cap_covers_service_messages_too():
    caps = FrequencyCaps(promotional_daily=5, total_daily=3)
    sent = SentToday(promotional=1, total=3)
    assert decide(caps=caps, sent_today=sent).reason == "cap:daily_total"
    assert decide(purpose="service", caps=caps, sent_today=sent).reason == "cap:daily_total"


def test_transactional_messages_are_exempt_from_caps():
    caps = FrequencyCaps(promotional_daily=0, total_daily=0)
    sent = SentToday(promotional=9, total=9)
    assert decide(purpose="transactional", caps=caps, sent_today=sent).action == "send"


def test_caps_count_the_customers_local_day_so_0001_ist_starts_afresh():
    sent_at = [ist(4, 23, 59) - timedelta(minutes=i) for i in range(3)]
    caps = FrequencyCaps(promotional_daily=3)

    def decision_at(now):
        count = sends_on_local_day(sent_at, now=now, tz="Asia/Kolkata")
        sent = SentToday(promotional=count, total=count)
        return decide(
            now=now, channel="whatsapp", template_status="APPROVED", caps=caps, sent_today=sent
        )

    assert decision_at(ist(4, 23, 59)).reason == "cap:daily"
    assert decision_at(ist(5, 0, 1)).action == "send"


def test_the_ist_day_starts_at_1830_utc():
    start, end = local_day_bounds(ist(5, 0, 1), "Asia/Kolkata")
    assert start == datetime(2026, 12, 4, 18, 30, tzinfo=UTC)
    assert end == datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
    assert start.tzinfo is UTC
    assert local_day_bounds(ist(4, 23, 59), "Asia/Kolkata") == (start - timedelta(days=1), start)


def test_a_utc_evening_can_already_be_tomorrow_in_india():
    start, _ = local_day_bounds(datetime(2026, 12, 4, 19, 0, tzinfo=UTC), "Asia/Kolkata")
    assert start == datetime(2026, 12, 4, 18, 30, tzinfo=UTC)


def test_local_days_are_23_and_25_hours_long_on_dst_changes():
    start, end = local_day_bounds(datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/London")
    assert end - start == timedelta(hours=23)
    start, end = local_day_bounds(datetime(2026, 11, 1, 12, tzinfo=UTC), "America/New_York")
    assert (start, end - start) == (datetime(2026, 11, 1, 4, tzinfo=UTC), timedelta(hours=25))


# --- echo ----------------------------------------------------------------------------------------


def test_the_same_message_on_another_channel_within_the_echo_window_is_blocked():
    echo = EchoCheck(last_other_channel_at=ist(5, 11, 50), window=timedelta(minutes=15))
    assert decide(echo=echo).reason == "echo"
    later = EchoCheck(last_other_channel_at=ist(5, 11, 40), window=timedelta(minutes=15))
    assert decide(echo=later).action == "send"
    assert decide(echo=EchoCheck(None, timedelta(hours=1))).action == "send"


# --- hours ---------------------------------------------------------------------------------------


def test_promotional_sms_after_2100_ist_waits_until_0900_next_morning():
    decision = decide(now=ist(5, 21, 0))
    assert (decision.action, decision.reason) == ("defer", "quiet_hours")
    assert decision.until == ist(6, 9, 0)
    assert decision.until.tzinfo == IST
    assert decision.until.astimezone(UTC) == datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
    assert "09:00" in decision.detail


def test_promotional_sms_window_edges():
    assert decide(now=ist(5, 20, 59)).action == "send"
    assert decide(now=ist(5, 9, 0)).action == "send"
    assert decide(now=ist(5, 8, 59)).until == ist(5, 9, 0)
    assert decide(now=ist(5, 0, 0)).until == ist(5, 9, 0)


def test_a_utc_clock_is_read_in_the_customers_zone():
    decision = decide(now=datetime(2026, 12, 5, 16, 0, tzinfo=UTC))  # 21:30 IST
    assert decision.until == ist(6, 9, 0)


def test_transactional_and_service_sms_go_at_any_hour():
    assert decide(now=ist(5, 2, 0), purpose="transactional").action == "send"
    assert decide(now=ist(5, 23, 0), purpose="service").action == "send"


def test_promotional_whatsapp_has_no_regulatory_window():
    assert (
        decide(now=ist(5, 23, 0), channel="whatsapp", template_status="APPROVED").action == "send"
    )


def test_collection_calls_are_only_between_0800_and_1900():
    call = {"channel": "voice", "purpose": "service", "collection_call": True}
    assert decide(now=ist(5, 8, 0), **call).action == "send"
    late = decide(now=ist(5, 19, 0), **call)
    assert (late.action, late.reason, late.until) == ("defer", "quiet_hours", ist(6, 8, 0))
    assert decide(now=ist(5, 19, 0), channel="voice", purpose="service").action == "send"


def test_a_promotional_collection_call_must_satisfy_both_windows():
    decision = decide(now=ist(5, 8, 30), channel="voice", collection_call=True)
    assert decision.until == ist(5, 9, 0)


def test_personal_quiet_hours_wrapping_midnight_defer_to_their_end():
    quiet = QuietHours(time(21), time(9))
    base = {"channel": "sms", "purpose": "service", "quiet_hours": quiet}
    assert decide(now=ist(5, 22, 0), **base).until == ist(6, 9, 0)
    assert decide(now=ist(5, 23, 59), **base).until == ist(6, 9, 0)
    assert decide(now=ist(6, 0, 30), **base).until == ist(6, 9, 0)
    assert decide(now=ist(5, 20, 59), **base).action == "send"


def test_personal_quiet_hours_do_not_hold_back_transactional_messages():
    quiet = QuietHours(time(21), time(9))
    assert decide(now=ist(5, 23, 0), purpose="transactional", quiet_hours=quiet).action == "send"


def test_personal_quiet_hours_and_the_regulatory_window_combine():
    quiet = QuietHours(time(8), time(10))
    assert decide(now=ist(5, 9, 0), quiet_hours=quiet).until == ist(5, 10, 0)


def test_a_workspace_window_narrows_but_cannot_widen_regulatory_hours():
    narrow = (SendWindow("*", "promotional", time(10), time(18)),)
    assert decide(now=ist(5, 9, 30), send_windows=narrow).until == ist(5, 10, 0)
    wide = (SendWindow("sms", "promotional", time(6), time(23)),)
    assert decide(now=ist(5, 7, 0), send_windows=wide).until == ist(5, 9, 0)


def test_a_workspace_window_applies_only_to_its_channel_and_purpose():
    window = (SendWindow("whatsapp", "service", time(10), time(18)),)
    assert decide(now=ist(5, 19, 0), purpose="service", send_windows=window).action == "send"


def test_windows_that_never_meet_block_instead_of_deferring_forever():
    decision = decide(quiet_hours=QuietHours(time(8), time(22)))
    assert (decision.action, decision.reason, decision.until) == ("block", "quiet_hours", None)


def test_blocking_reasons_win_over_quiet_hours():
    night = ist(5, 23, 0)
    assert decide(now=night, consent="none").action == "block"
    capped = decide(now=night, caps=FrequencyCaps(promotional_daily=1), sent_today=SentToday(1, 1))
    assert (capped.action, capped.reason) == ("block", "cap:daily")


def test_checks_run_in_the_documented_order():
    everything = {
        "now": ist(5, 23, 0),
        "channel": "voice",
        "consent": "granted",
        "dnd": True,
        "do_not_call": True,
        "caps": FrequencyCaps(promotional_daily=0, total_daily=0),
        "echo": EchoCheck(ist(5, 22, 59), timedelta(hours=1)),
    }
    assert decide(**(everything | {"consent": "none"})).reason == "no_consent:voice:promotional"
    assert decide(**everything).reason == "dnd"
    assert decide(**(everything | {"dnd": False})).reason == "do_not_call"
    no_call = everything | {"dnd": False, "do_not_call": False}
    assert decide(**no_call).reason == "cap:daily"
    assert decide(**(no_call | {"caps": FrequencyCaps()})).reason == "echo"
    assert decide(**(no_call | {"caps": FrequencyCaps(), "echo": None})).reason == "quiet_hours"


def test_whatsapp_checks_template_before_caps():
    decision = decide(
        channel="whatsapp", template_status="PENDING", caps=FrequencyCaps(promotional_daily=0)
    )
    assert decision.reason == "template_not_approved"


# --- DST zones -----------------------------------------------------------------------------------


def test_a_london_customer_on_the_night_before_spring_forward_waits_until_0900_bst():
    now = datetime(2026, 3, 28, 22, 0, tzinfo=LONDON)  # Saturday, GMT
    decision = decide(now=now, customer_tz="Europe/London")
    assert decision.until.astimezone(UTC) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert decision.until.utcoffset() == timedelta(hours=1)
    assert (decision.until.hour, decision.until.minute) == (9, 0)


def test_a_london_customer_in_winter_waits_until_0900_gmt():
    decision = decide(now=datetime(2026, 12, 5, 22, 0, tzinfo=UTC), customer_tz="Europe/London")
    assert decision.until.astimezone(UTC) == datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_a_new_york_customer_across_fall_back_waits_until_0900_est():
    now = datetime(2026, 10, 31, 21, 30, tzinfo=NEW_YORK)  # EDT, the night before fall back
    decision = decide(now=now, customer_tz="America/New_York")
    assert decision.until.astimezone(UTC) == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)


def test_a_window_starting_in_the_skipped_hour_opens_at_the_jump():
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 00:30 GMT, before clocks go to 02:00 BST
    opens = next_allowed_moment(now, "Europe/London", time(1, 30), time(5))
    assert opens.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert (opens.hour, opens.minute) == (2, 0)


def test_a_window_entirely_inside_the_skipped_hour_opens_the_next_day():
    now = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST; 02:00-03:00 does not exist today
    opens = next_allowed_moment(now, "America/New_York", time(2, 15), time(2, 45))
    assert opens.astimezone(UTC) == datetime(2026, 3, 9, 6, 15, tzinfo=UTC)


def test_a_window_starting_in_the_repeated_hour_opens_at_its_first_occurrence():
    now = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    opens = next_allowed_moment(now, "America/New_York", time(1, 30), time(5))
    assert opens.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_next_allowed_moment_returns_now_inside_the_window_and_wraps_midnight():
    assert next_allowed_moment(ist(5, 12), "Asia/Kolkata", time(9), time(21)) == ist(5, 12)
    assert next_allowed_moment(ist(5, 12), "Asia/Kolkata", time(21), time(9)) == ist(5, 21)
    assert next_allowed_moment(ist(5, 3), "Asia/Kolkata", time(21), time(9)) == ist(5, 3)
    assert next_allowed_moment(ist(5, 3), "Asia/Kolkata", time(0), time(0)) == ist(5, 3)


@given(st.integers(min_value=0, max_value=366 * 24 * 60 - 1))
def test_ist_windows_are_fixed_offset_arithmetic(minute_of_year):
    now = datetime(2026, 1, 1, tzinfo=IST) + timedelta(minutes=minute_of_year)
    opens = next_allowed_moment(now, "Asia/Kolkata", time(9), time(21))
    assert opens.utcoffset() == timedelta(hours=5, minutes=30)
    if 9 <= now.hour < 21:
        assert opens == now
    else:
        assert (opens.hour, opens.minute) == (9, 0)
        assert timedelta(0) < opens - now <= timedelta(hours=12)
        assert opens.astimezone(UTC).time() == time(3, 30)


# --- properties ----------------------------------------------------------------------------------

ZONES = ["Asia/Kolkata", "Europe/London", "America/New_York", "Australia/Lord_Howe"]
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
TIMES = st.times().map(lambda t: t.replace(second=0, microsecond=0))


ANY_CONSENT = st.sampled_from(["granted", "withdrawn", "none", "expired"])


@st.composite
def send_checks(draw, consent=ANY_CONSENT):
    channel = draw(st.sampled_from(CHANNELS))
    now = draw(INSTANTS)
    return SendCheck(
        now=now,
        channel=channel,
        purpose=draw(st.sampled_from(PURPOSES)),
        consent=draw(consent),
        customer_tz=draw(st.sampled_from(ZONES)),
        collection_call=draw(st.booleans()),
        dnd=draw(st.booleans()),
        dnd_blocked_categories=draw(st.none() | st.frozensets(st.integers(1, 8))),
        workspace_category=draw(st.none() | st.integers(1, 8)),
        quiet_hours=draw(st.none() | st.builds(QuietHours, TIMES, TIMES)),
        do_not_call=draw(st.booleans()),
        template_status=draw(st.sampled_from([None, "APPROVED", "PENDING"])),
        session_message=draw(st.booleans()),
        last_inbound_at=draw(st.none() | st.just(now - timedelta(hours=draw(st.integers(0, 48))))),
        caps=FrequencyCaps(
            draw(st.none() | st.integers(0, 3)), draw(st.none() | st.integers(0, 5))
        ),
        sent_today=SentToday(draw(st.integers(0, 4)), draw(st.integers(0, 6))),
        send_windows=tuple(
            draw(
                st.lists(
                    st.builds(
                        SendWindow,
                        st.sampled_from(["*", *CHANNELS]),
                        st.sampled_from(["*", "collection", *PURPOSES]),
                        TIMES,
                        TIMES,
                    ),
                    max_size=2,
                )
            )
        ),
    )


@given(send_checks())
def test_without_consent_nothing_but_unwithdrawn_transactional_is_ever_sent(inp):
    decision = decide_send(inp)
    assert decision.action in ("send", "defer", "block")
    lacks_consent = inp.consent == "withdrawn" or (
        inp.purpose != "transactional" and inp.consent != "granted"
    )
    if lacks_consent:
        assert decision.action == "block"
        assert decision.reason == f"no_consent:{inp.channel}:{inp.purpose}"


@st.composite
def hour_checks(draw):
    """Checks that only the hours can hold back: consented, approved, uncapped, no DND."""
    inp = draw(send_checks(consent=st.just("granted")))
    return replace(
        inp,
        purpose=draw(st.sampled_from(["service", "promotional"])),
        quiet_hours=draw(st.builds(QuietHours, TIMES, TIMES)),
        dnd=False,
        do_not_call=False,
        template_status="APPROVED",
        session_message=False,
        caps=FrequencyCaps(),
    )


@settings(max_examples=300)
@given(hour_checks())
def test_a_deferred_message_is_allowed_at_until_and_not_a_minute_before(inp):
    decision = decide_send(inp)
    assume(decision.action == "defer")
    assert decision.reason == "quiet_hours"
    assert decision.until > inp.now
    assert str(decision.until.tzinfo) == inp.customer_tz
    assert (decision.until.second, decision.until.microsecond) == (0, 0)
    assert decide_send(replace(inp, now=decision.until)).action == "send"
    minute_before = decision.until - timedelta(minutes=1)
    if minute_before > inp.now:
        assert decide_send(replace(inp, now=minute_before)).action == "defer"


@given(send_checks())
def test_only_a_defer_carries_until(inp):
    decision = decide_send(inp)
    assert (decision.until is not None) == (decision.action == "defer")
    assert (decision.reason == "") == (decision.action == "send")


# --- best channel --------------------------------------------------------------------------------


def blocked(reason):
    return Decision("block", reason, None, "")


def test_the_first_preferred_channel_that_is_reachable_and_allowed_wins():
    candidates = [
        ChannelOption("whatsapp", True, blocked("no_consent:whatsapp:promotional")),
        ChannelOption("sms", False, SEND),
        ChannelOption("voice", True, SEND),
    ]
    channel, passed = best_channel(
        preference_order=["whatsapp", "sms", "voice"], candidates=candidates, engagement={}
    )
    assert channel == "voice"
    assert passed == ["whatsapp: no_consent:whatsapp:promotional", "sms: unreachable"]


def test_a_deferred_channel_is_passed_over_with_its_reason():
    defer = Decision("defer", "quiet_hours", ist(6, 9), "")
    candidates = [ChannelOption("sms", True, defer), ChannelOption("whatsapp", True, SEND)]
    assert best_channel(preference_order=["sms", "whatsapp"], candidates=candidates) == (
        "whatsapp",
        ["sms: quiet_hours"],
    )


def test_a_stated_preference_is_not_overridden_by_other_channels():
    candidates = [ChannelOption("sms", True, SEND)]
    assert best_channel(preference_order=["voice"], candidates=candidates, engagement={}) == (
        None,
        ["voice: not_offered"],
    )


def test_without_a_preference_the_most_engaged_channel_goes_first():
    candidates = [ChannelOption(c, True, SEND) for c in ("whatsapp", "sms", "voice")]
    engagement = {"sms": 0.7, "whatsapp": 0.2}
    assert best_channel(preference_order=None, candidates=candidates, engagement=engagement) == (
        "sms",
        [],
    )


def test_without_a_preference_or_engagement_whatsapp_then_sms_then_voice():
    candidates = [
        ChannelOption("voice", True, SEND),
        ChannelOption("sms", True, SEND),
        ChannelOption("whatsapp", True, blocked("template_not_approved")),
    ]
    assert best_channel(preference_order=[], candidates=candidates, engagement={}) == (
        "sms",
        ["whatsapp: template_not_approved"],
    )


def test_no_usable_channel_gives_none_and_every_reason():
    candidates = [ChannelOption("sms", True, blocked("dnd")), ChannelOption("voice", False, SEND)]
    assert best_channel(preference_order=None, candidates=candidates, engagement=None) == (
        None,
        ["sms: dnd", "voice: unreachable"],
    )
