"""The simulator: seeded deterministic plans, rates that hold statistically, signed webhooks."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from channels_app.providers import provider_get
from channels_app.providers.base import (
    CallStatus,
    InboundMessage,
    KeyPress,
    OutboundMessage,
    ReplyButton,
    StatusUpdate,
    VoiceFields,
    WebhookMalformed,
    WebhookRequest,
    WhatsAppFields,
)
from channels_app.providers.simulator import (
    SimEvent,
    SimulatorAdapter,
    SimulatorConfig,
    plan_events,
    simulator_plan,
    simulator_webhook,
)
from tests.standins.base import callback_post

pytest_plugins = ["tests.standins.fixtures"]

SENT_AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
BUTTONS = (ReplyButton("track", "Track order"), ReplyButton("help", "Need help?"))


def whatsapp(key: str) -> OutboundMessage:
    return OutboundMessage(
        "whatsapp", "+919812345678", key, body="Shipped!", whatsapp=WhatsAppFields(buttons=BUTTONS)
    )


def call(key: str) -> OutboundMessage:
    voice = VoiceFields(prompt="Press 1 to pay", menu={"1": "pay_now", "2": "agent"})
    return OutboundMessage("voice", "+919812345678", key, voice=voice)


def sms(key: str) -> OutboundMessage:
    return OutboundMessage("sms", "+919812345678", key, body="Your OTP is 123456")


def test_the_simulator_is_the_registered_default_with_no_credentials():
    adapter = provider_get("simulator")()
    assert isinstance(adapter, SimulatorAdapter) and adapter.config == SimulatorConfig()


def test_same_message_and_seed_give_the_same_plan_whatever_the_global_random_state():
    config = SimulatorConfig(seed=42)
    first = simulator_plan(whatsapp("run1:n1:1"), config)
    random.seed(999)
    random.random()
    assert simulator_plan(whatsapp("run1:n1:1"), config) == first
    assert SimulatorAdapter(config).plan(whatsapp("run1:n1:1")) == first


def test_a_different_seed_or_key_gives_a_different_plan():
    plan = simulator_plan(whatsapp("run1:n1:1"), SimulatorConfig(seed=1))
    assert simulator_plan(whatsapp("run1:n1:1"), SimulatorConfig(seed=2)) != plan
    assert simulator_plan(whatsapp("run2:n1:1"), SimulatorConfig(seed=1)) != plan


def test_a_fully_engaged_customer_reads_then_taps_a_button_in_order():
    config = SimulatorConfig(
        whatsapp_reachable=1, whatsapp_delivered=1, whatsapp_read=1, whatsapp_button=1, jitter=0
    )
    plan = simulator_plan(whatsapp("k"), config)
    assert [(p.offset.total_seconds(), p.kind, p.status) for p in plan[:3]] == [
        (1.0, "status", "sent"),
        (3.0, "status", "delivered"),
        (43.0, "status", "read"),
    ]
    tap = plan[3]
    assert tap.kind == "message" and tap.offset == timedelta(seconds=343)
    assert (tap.button_payload, tap.button_title) in {
        ("track", "Track order"),
        ("help", "Need help?"),
    }


def test_template_quick_replies_are_tappable_too():
    components = (
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "0",
            "parameters": [{"type": "payload", "payload": "need_help"}],
        },
    )
    msg = OutboundMessage(
        "whatsapp",
        "+919812345678",
        "k",
        whatsapp=WhatsAppFields(template_name="order_shipped", components=components),
    )
    config = SimulatorConfig(
        whatsapp_reachable=1, whatsapp_delivered=1, whatsapp_read=1, whatsapp_button=1
    )
    assert simulator_plan(msg, config)[-1].button_payload == "need_help"


def test_offsets_never_go_backwards():
    config = SimulatorConfig(seed=3)
    for i in range(300):
        for msg in (whatsapp(f"k{i}"), call(f"k{i}"), sms(f"k{i}")):
            offsets = [p.offset for p in simulator_plan(msg, config)]
            assert offsets == sorted(offsets) and offsets[0] >= timedelta(0)


def test_rates_hold_over_ten_thousand_plans():
    config = SimulatorConfig(
        seed=7,
        sms_delivered=0.8,
        whatsapp_reachable=0.9,
        whatsapp_read=0.5,
        call_answered=0.6,
        call_keypress=0.5,
    )
    n = 10_000
    sms_outcomes = Counter(simulator_plan(sms(f"s{i}"), config)[-1].status for i in range(n))
    assert abs(sms_outcomes["delivered"] / n - 0.8) < 0.02
    wa_plans = [simulator_plan(whatsapp(f"w{i}"), config) for i in range(n)]
    reachable = [p for p in wa_plans if p[0].status != "failed"]
    delivered = [p for p in reachable if any(o.status == "delivered" for o in p)]
    read = [p for p in delivered if any(o.status == "read" for o in p)]
    assert abs(len(reachable) / n - 0.9) < 0.02
    assert abs(len(read) / len(delivered) - 0.5) < 0.03
    calls = [simulator_plan(call(f"c{i}"), config) for i in range(n)]
    answered = [p for p in calls if any(o.status == "answered" for o in p)]
    assert abs(len(answered) / n - 0.6) < 0.02
    keys = Counter(o.digits for p in answered for o in p if o.kind == "keypress")
    assert abs(sum(keys.values()) / len(answered) - 0.5) < 0.03
    assert set(keys) == {"1", "2"} and abs(keys["1"] / sum(keys.values()) - 0.5) < 0.04


def test_unanswered_calls_split_into_busy_and_no_answer():
    config = SimulatorConfig(call_answered=0, call_busy=0.25)
    finals = Counter(simulator_plan(call(f"c{i}"), config)[-1].status for i in range(4000))
    assert set(finals) == {"busy", "no_answer"}
    assert abs(finals["busy"] / 4000 - 0.25) < 0.03


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"sms_delivered": 1.5}, "sms_delivered"),
        ({"whatsapp_read": -0.1}, "whatsapp_read"),
        ({"call_ring_s": -1}, "call_ring_s"),
        ({"jitter": "lots"}, "jitter"),
        ({"seed": 1.5}, "seed"),
        ({"sms_speed": 3}, "sms_speed"),
    ],
)
def test_config_validation_names_the_setting(settings, field):
    with pytest.raises(ValueError, match=field):
        SimulatorConfig.from_mapping(settings)


def test_plan_events_travel_signed_through_a_real_webhook_and_parse_back(sink):
    config = SimulatorConfig(
        seed=5,
        secret="sim-secret",
        whatsapp_reachable=1,
        whatsapp_delivered=1,
        whatsapp_read=1,
        whatsapp_button=1,
    )
    adapter = SimulatorAdapter(config)
    msg = whatsapp("run3:n2:1")
    sent = adapter.send(msg)
    assert sent.status == "accepted" and adapter.send(msg).provider_id == sent.provider_id
    events = plan_events(adapter.plan(msg), msg=msg, provider_id=sent.provider_id, sent_at=SENT_AT)
    body, headers = simulator_webhook(events, "sim-secret")
    callback_post(sink.webhook_url("/hooks/simulator"), headers=headers, content=body)
    request = sink.wait_for(1)[0].as_webhook()
    assert adapter.verify_signature(request.url, request.headers, request.raw_body, {})
    statuses = adapter.parse_status_webhook(request)
    assert [type(s) for s in statuses] == [StatusUpdate] * 3
    assert [s.status for s in statuses] == ["sent", "delivered", "read"]
    assert statuses[0].reference == "run3:n2:1"
    assert statuses[0].at == SENT_AT + adapter.plan(msg)[0].offset
    (tap,) = adapter.parse_inbound_webhook(request)
    assert isinstance(tap, InboundMessage)
    assert tap.context_id == sent.provider_id and tap.provider_id != sent.provider_id
    assert tap.from_number == "+919812345678" and tap.button_payload in {"track", "help"}


def test_a_tampered_or_wrongly_signed_simulator_webhook_fails():
    adapter = SimulatorAdapter(SimulatorConfig(secret="sim-secret"))
    event = SimEvent("status", "SIMSM1", "sms", SENT_AT.isoformat(), status="delivered")
    body, headers = simulator_webhook([event], "sim-secret")
    assert adapter.verify_signature("u", headers, body, {})
    assert not adapter.verify_signature("u", headers, body.replace(b"delivered", b"failed"), {})
    _, other = simulator_webhook([event], "another-secret")
    assert not adapter.verify_signature("u", other, body, {})
    assert not adapter.verify_signature("u", {}, body, {})


def test_call_events_and_key_presses_from_the_phone_view_parse():
    adapter = SimulatorAdapter()
    events = [
        SimEvent("call", "SIMCA1", "voice", SENT_AT.isoformat(), status="answered"),
        SimEvent(
            "keypress",
            "SIMCA1",
            "voice",
            SENT_AT.isoformat(),
            digits="1",
            from_number="+919812345678",
        ),
        SimEvent(
            "inbound_call", "SIMCA2", "voice", SENT_AT.isoformat(), from_number="+919812345678"
        ),
    ]
    body, _ = simulator_webhook(events, adapter.config.secret)
    request = WebhookRequest(url="https://x/hooks/simulator", raw_body=body)
    (answered,) = adapter.parse_status_webhook(request)
    assert isinstance(answered, CallStatus) and answered.status == "answered"
    press, inbound_call = adapter.parse_inbound_webhook(request)
    assert isinstance(press, KeyPress) and press.digits == "1"
    assert inbound_call.from_number == "+919812345678"


def test_a_body_that_is_not_simulator_events_is_malformed():
    adapter = SimulatorAdapter()
    for raw in (b"nope", b'{"events": [{"type": "teleport"}]}', b"{}"):
        with pytest.raises(WebhookMalformed):
            adapter.parse_status_webhook(WebhookRequest(url="x", raw_body=raw))
