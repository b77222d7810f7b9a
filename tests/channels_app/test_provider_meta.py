"""Meta WhatsApp Cloud API adapter over real HTTP against the local stand-in (no internet)."""

import json
from decimal import Decimal

import pytest

from channels_app.providers.base import (
    AuthFailed,
    OutboundMessage,
    PermanentError,
    RateLimited,
    ReplyButton,
    TransientError,
    WebhookMalformed,
    WebhookRequest,
    WhatsAppFields,
)
from channels_app.providers.meta import MetaAdapter, meta_signature, meta_verify_handshake

pytest_plugins = ["tests.standins.fixtures"]

TEMPLATE_COMPONENTS = (
    {"type": "body", "parameters": [{"type": "text", "text": "58821"}]},
    {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "need_help"}],
    },
)


def make_adapter(standin, timeout_s=2.0, **overrides) -> MetaAdapter:
    credentials = {
        "access_token": standin.access_token,
        "phone_number_id": standin.phone_number_id,
        "app_secret": standin.app_secret,
        "verify_token": "verify-me",
        "base_url": standin.url,
        **overrides,
    }
    return MetaAdapter(credentials, timeout_s=timeout_s)


def template_message(key="run1:wa:1", category="utility") -> OutboundMessage:
    wa = WhatsAppFields(
        template_name="order_shipped",
        language="en",
        components=TEMPLATE_COMPONENTS,
        category=category,
    )
    return OutboundMessage("whatsapp", "+919812345678", key, whatsapp=wa)


def delivered_webhooks(adapter, sink, count):
    requests = [r.as_webhook() for r in sink.wait_for(count)]
    for request in requests:
        assert adapter.verify_signature(request.url, request.headers, request.raw_body, {})
    return requests


def test_template_send_posts_json_with_bearer_token_and_answers_the_wamid(meta_standin):
    result = make_adapter(meta_standin).send(template_message())
    assert result.provider_id.startswith("wamid.") and result.status == "accepted"
    (request,) = meta_standin.requests
    assert request.path == f"/v21.0/{meta_standin.phone_number_id}/messages"
    assert request.headers["authorization"] == f"Bearer {meta_standin.access_token}"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "919812345678",
        "biz_opaque_callback_data": "run1:wa:1",
        "type": "template",
        "template": {
            "name": "order_shipped",
            "language": {"code": "en"},
            "components": [dict(c) for c in TEMPLATE_COMPONENTS],
        },
    }


def test_interactive_reply_buttons_and_free_text_have_their_own_shapes(meta_standin):
    adapter = make_adapter(meta_standin)
    buttons = (ReplyButton("track", "Track order"), ReplyButton("help", "Need help?"))
    adapter.send(
        OutboundMessage(
            "whatsapp",
            "+919812345678",
            "k1",
            body="Shipped!",
            whatsapp=WhatsAppFields(buttons=buttons),
        )
    )
    adapter.send(OutboundMessage("whatsapp", "+919812345678", "k2", body="Thanks <3"))
    interactive, text = (r.json for r in meta_standin.requests)
    assert interactive["type"] == "interactive"
    assert interactive["interactive"] == {
        "type": "button",
        "body": {"text": "Shipped!"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "track", "title": "Track order"}},
                {"type": "reply", "reply": {"id": "help", "title": "Need help?"}},
            ]
        },
    }
    assert text["type"] == "text" and text["text"] == {"preview_url": False, "body": "Thanks <3"}


def test_more_than_three_reply_buttons_are_refused_before_sending():
    buttons = tuple(ReplyButton(str(i), f"B{i}") for i in range(4))
    with pytest.raises(ValueError, match="at most 3"):
        WhatsAppFields(buttons=buttons)


def test_a_button_title_too_long_is_a_permanent_131009(meta_standin):
    wa = WhatsAppFields(buttons=(ReplyButton("x", "This title is far too long"),))
    with pytest.raises(PermanentError) as caught:
        make_adapter(meta_standin).send(
            OutboundMessage("whatsapp", "+919812345678", "k", body="Hi", whatsapp=wa)
        )
    assert caught.value.code == "131009"
    assert "parameter value is not valid" in caught.value.reason


def test_an_expired_token_is_auth_failed(meta_standin):
    with pytest.raises(AuthFailed):
        make_adapter(meta_standin, access_token="expired").send(template_message())


def test_unknown_phone_number_id_is_a_permanent_error_100(meta_standin):
    with pytest.raises(PermanentError) as caught:
        make_adapter(meta_standin, phone_number_id="999").send(template_message())
    assert caught.value.code == "100"


def test_429_with_retry_after_is_rate_limited(meta_standin):
    meta_standin.fail_next(kind="rate_limit", retry_after="3")
    with pytest.raises(RateLimited) as caught:
        make_adapter(meta_standin).send(template_message())
    assert caught.value.retry_after_s == 3.0


@pytest.mark.parametrize("code, wait", [("80007", 60.0), ("4", 60.0), ("131056", 6.0)])
def test_throughput_error_codes_in_a_400_are_rate_limits(meta_standin, code, wait):
    meta_standin.fail_next(kind="error", status=400, code=code, message="limit")
    with pytest.raises(RateLimited) as caught:
        make_adapter(meta_standin).send(template_message())
    assert caught.value.retry_after_s == wait


def test_500_and_timeouts_are_transient(meta_standin):
    adapter = make_adapter(meta_standin, timeout_s=0.3)
    meta_standin.fail_next(kind="server_error")
    with pytest.raises(TransientError) as caught:
        adapter.send(template_message())
    assert caught.value.status_code == 500
    meta_standin.fail_next(kind="hang", hang_s=0.8)
    with pytest.raises(TransientError, match="did not answer in time"):
        adapter.send(template_message())


def test_after_an_ambiguous_500_the_status_webhook_names_our_reference(meta_standin, sink):
    adapter = make_adapter(meta_standin)
    meta_standin.fail_next(kind="create_then_500")
    with pytest.raises(TransientError):
        adapter.send(template_message(key="run9:wa:1"))
    assert adapter.fetch_status("wamid.unknown") is None
    (wamid,) = meta_standin.messages
    meta_standin.message_status(wamid, "sent")
    (request,) = delivered_webhooks(adapter, sink, 1)
    (update,) = adapter.parse_status_webhook(request)
    assert (update.provider_id, update.reference) == (wamid, "run9:wa:1")


def test_131049_marketing_cap_arrives_as_a_failed_status_with_a_readable_reason(meta_standin, sink):
    adapter = make_adapter(meta_standin)
    result = adapter.send(template_message(category="marketing"))
    meta_standin.message_status(result.provider_id, "failed", error_code=131049)
    (request,) = delivered_webhooks(adapter, sink, 1)
    (update,) = adapter.parse_status_webhook(request)
    assert (update.status, update.error_code) == ("failed", "131049")
    assert "marketing cap" in update.error_reason and update.price is None


def test_free_form_outside_the_window_fails_with_131047(meta_standin, sink):
    adapter = make_adapter(meta_standin)
    result = adapter.send(OutboundMessage("whatsapp", "+919812345678", "k", body="Hello"))
    meta_standin.complete(result.provider_id)
    (request,) = delivered_webhooks(adapter, sink, 1)
    (update,) = adapter.parse_status_webhook(request)
    assert update.error_code == "131047" and "send an approved template" in update.error_reason


def test_statuses_out_of_order_and_duplicated_all_parse_with_pricing(meta_standin, sink):
    adapter = make_adapter(meta_standin)
    result = adapter.send(template_message(category="marketing"))
    for status in ("read", "delivered", "delivered", "sent"):
        meta_standin.message_status(result.provider_id, status)
    updates = [adapter.parse_status_webhook(r)[0] for r in delivered_webhooks(adapter, sink, 4)]
    assert [u.status for u in updates] == ["read", "delivered", "delivered", "sent"]
    assert updates[0].price == Decimal("0.7846") and updates[0].currency == "INR"
    assert updates[3].price is None  # billed once delivered, not when merely sent
    assert updates[0].at is not None


def test_inbound_text_button_and_interactive_reply_are_parsed(meta_standin, sink):
    adapter = make_adapter(meta_standin)
    meta_standin.inbound({"from": "919812345678", "type": "text", "text": {"body": "Hi"}})
    meta_standin.inbound(
        {
            "from": "919812345678",
            "type": "button",
            "button": {"payload": "need_help", "text": "Need help?"},
            "context": {"from": "919800000000", "id": "wamid.out1"},
        }
    )
    meta_standin.inbound(
        {
            "from": "919812345678",
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": "track", "title": "Track"},
            },
            "context": {"id": "wamid.out2"},
        }
    )
    parsed = [adapter.parse_inbound_webhook(r)[0] for r in delivered_webhooks(adapter, sink, 3)]
    text, button, interactive = parsed
    assert (text.from_number, text.text, text.channel) == ("+919812345678", "Hi", "whatsapp")
    assert (button.button_payload, button.button_title, button.context_id) == (
        "need_help",
        "Need help?",
        "wamid.out1",
    )
    assert (interactive.button_payload, interactive.context_id) == ("track", "wamid.out2")
    assert (
        adapter.parse_status_webhook(WebhookRequest(url="x", raw_body=sink.requests[0].body)) == []
    )


def test_signature_is_checked_on_the_raw_bytes():
    adapter = MetaAdapter({"access_token": "t", "phone_number_id": "1", "app_secret": "s3cret"})
    raw = b'{"entry": [], "object": "whatsapp_business_account"}'
    good = {"X-Hub-Signature-256": meta_signature(raw, "s3cret")}
    assert adapter.verify_signature("https://x/", good, raw, {})
    reencoded = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert not adapter.verify_signature("https://x/", good, reencoded, {})
    assert not adapter.verify_signature("https://x/", good, raw.replace(b"[]", b"[1]"), {})
    assert not adapter.verify_signature("https://x/", {}, raw, {})
    wrong_secret = {"X-Hub-Signature-256": meta_signature(raw, "other")}
    assert not adapter.verify_signature("https://x/", wrong_secret, raw, {})


def test_the_get_handshake_echoes_the_challenge_only_for_the_right_token():
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "verify-me",
        "hub.challenge": "1158201444",
    }
    assert meta_verify_handshake(query, "verify-me") == (200, "1158201444")
    assert meta_verify_handshake({**query, "hub.verify_token": "nope"}, "verify-me") == (403, "")
    assert meta_verify_handshake({**query, "hub.mode": "unsubscribe"}, "verify-me") == (403, "")
    assert meta_verify_handshake(query, "") == (403, "")


def test_a_body_that_is_not_a_webhook_is_malformed():
    adapter = MetaAdapter({"access_token": "t", "phone_number_id": "1", "app_secret": "s"})
    with pytest.raises(WebhookMalformed):
        adapter.parse_status_webhook(WebhookRequest(url="x", raw_body=b"not json"))
    with pytest.raises(WebhookMalformed):
        adapter.parse_inbound_webhook(WebhookRequest(url="x", raw_body=b'{"object": 1}'))


def test_meta_refuses_sms_before_any_request(meta_standin):
    with pytest.raises(ValueError, match="WhatsApp only"):
        make_adapter(meta_standin).send(OutboundMessage("sms", "+919812345678", "k", body="x"))
    assert meta_standin.requests == []


def test_price_is_charged_for_delivered_templates_only():
    adapter = MetaAdapter({"access_token": "t", "phone_number_id": "1", "app_secret": "s"})
    assert adapter.price(template_message(category="utility"), "delivered") == Decimal("0.1150")
    assert adapter.price(template_message(category="utility"), "sent") == Decimal("0")
    service = OutboundMessage("whatsapp", "+919812345678", "k", body="Thanks")
    assert adapter.price(service, "read") == Decimal("0")
