"""Twilio adapter over real HTTP against the local stand-in (no internet)."""

import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest

from channels_app.providers import provider_get
from channels_app.providers.base import (
    AuthFailed,
    OutboundMessage,
    PermanentError,
    RateLimited,
    ReplyButton,
    TransientError,
    VoiceFields,
    WebhookMalformed,
    WebhookRequest,
    WhatsAppFields,
)
from channels_app.providers.twilio import TwilioAdapter, twilio_signature
from channels_app.providers.twiml import twiml_gather

pytest_plugins = ["tests.standins.fixtures"]

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def make_adapter(standin, timeout_s=2.0, **overrides) -> TwilioAdapter:
    credentials = {
        "account_sid": standin.account_sid,
        "auth_token": standin.auth_token,
        "sms_from": "+15005550006",
        "whatsapp_from": "+14155238886",
        "voice_from": "+15005550006",
        "base_url": standin.url,
        **overrides,
    }
    return TwilioAdapter(credentials, timeout_s=timeout_s)


def sms(key="run1:node2:1", body="Your order #58821 is out for delivery.", callback=""):
    return OutboundMessage("sms", "+919812345678", key, body=body, status_callback=callback)


def test_registry_builds_twilio_from_a_plain_mapping(twilio_standin):
    adapter = provider_get("twilio")({"account_sid": "AC1", "auth_token": "t", "base_url": "x"})
    assert isinstance(adapter, TwilioAdapter)


def test_sms_send_posts_form_with_basic_auth_and_our_reference_on_the_callback(twilio_standin):
    adapter = make_adapter(twilio_standin)
    result = adapter.send(sms(callback="https://sangam.example/hooks/twilio/status"))
    assert result.provider_id.startswith("SM") and result.status == "queued"
    (request,) = twilio_standin.requests_to("/Messages.json")
    assert request.path == f"/2010-04-01/Accounts/{twilio_standin.account_sid}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form["To"] == "+919812345678"
    assert request.form["From"] == "+15005550006"
    assert request.form["Body"] == "Your order #58821 is out for delivery."
    assert request.form["StatusCallback"] == (
        "https://sangam.example/hooks/twilio/status?sangam_ref=run1%3Anode2%3A1"
    )


def test_whatsapp_template_goes_by_content_sid_with_whatsapp_addresses(twilio_standin):
    adapter = make_adapter(twilio_standin)
    wa = WhatsAppFields(content_sid="HX" + "a" * 32, content_variables={"1": "58821"})
    adapter.send(OutboundMessage("whatsapp", "+919812345678", "k1", whatsapp=wa))
    form = twilio_standin.requests[-1].form
    assert form["To"] == "whatsapp:+919812345678"
    assert form["From"] == "whatsapp:+14155238886"
    assert form["ContentSid"] == "HX" + "a" * 32
    assert form["ContentVariables"] == '{"1": "58821"}'
    assert "Body" not in form


def test_whatsapp_buttons_without_content_sid_are_refused_before_any_request(twilio_standin):
    adapter = make_adapter(twilio_standin)
    wa = WhatsAppFields(buttons=(ReplyButton("yes", "Yes"),))
    with pytest.raises(ValueError, match="ContentSid"):
        adapter.send(OutboundMessage("whatsapp", "+919812345678", "k1", body="Hi", whatsapp=wa))
    assert twilio_standin.requests == []


def test_free_form_whatsapp_outside_the_window_fails_later_with_a_readable_63016(
    twilio_standin, sink
):
    adapter = make_adapter(twilio_standin)
    msg = OutboundMessage(
        "whatsapp", "+919812345678", "k-63016", body="Hi!", status_callback=sink.webhook_url()
    )
    result = adapter.send(msg)
    twilio_standin.complete(result.provider_id)
    (callback,) = sink.wait_for(1)
    request = callback.as_webhook()
    assert adapter.verify_signature(request.url, request.headers, request.raw_body, request.form)
    (update,) = adapter.parse_status_webhook(request)
    assert (update.status, update.error_code) == ("failed", "63016")
    assert "outside the 24-hour WhatsApp window" in update.error_reason
    assert update.reference == "k-63016"


def test_missing_sender_is_a_permanent_error_with_twilio_code(twilio_standin):
    adapter = make_adapter(twilio_standin, sms_from="")
    with pytest.raises(PermanentError) as caught:
        adapter.send(sms())
    assert caught.value.code == "21603"
    assert caught.value.status_code == 400


def test_invalid_to_is_a_permanent_error_with_a_readable_reason(twilio_standin):
    twilio_standin.fail_next(kind="error", status=400, code="21211", message="bad To")
    with pytest.raises(PermanentError) as caught:
        make_adapter(twilio_standin).send(sms())
    assert caught.value.code == "21211"
    assert caught.value.reason == "invalid 'To' phone number"


def test_wrong_token_is_auth_failed_not_a_message_failure(twilio_standin):
    adapter = make_adapter(twilio_standin, auth_token="wrong")
    with pytest.raises(AuthFailed, match="refused the credentials"):
        adapter.send(sms())
    assert twilio_standin.messages == {}


def test_429_honours_retry_after(twilio_standin):
    twilio_standin.fail_next(kind="rate_limit", retry_after="7")
    with pytest.raises(RateLimited) as caught:
        make_adapter(twilio_standin).send(sms())
    assert caught.value.retry_after_s == 7.0
    assert twilio_standin.messages == {}


def test_500_is_transient_with_unknown_outcome(twilio_standin):
    twilio_standin.fail_next(kind="server_error")
    with pytest.raises(TransientError) as caught:
        make_adapter(twilio_standin).send(sms())
    assert caught.value.maybe_sent and caught.value.status_code == 500


def test_after_a_500_that_created_the_message_reconciliation_finds_it(twilio_standin):
    adapter = make_adapter(twilio_standin)
    since = datetime.now(UTC) - timedelta(seconds=1)
    adapter.send(sms(key="other", body="Something else"))
    twilio_standin.fail_next(kind="create_then_500")
    msg = sms()
    with pytest.raises(TransientError):
        adapter.send(msg)
    found = adapter.find_sent(msg, since)
    assert found is not None
    (created,) = [m for m in twilio_standin.messages.values() if m["body"] == msg.body]
    assert found.provider_id == created["sid"]
    status = adapter.fetch_status(found.provider_id)
    assert status.provider_id == created["sid"] and status.status == "queued"


def test_after_a_500_that_created_nothing_reconciliation_finds_nothing(twilio_standin):
    adapter = make_adapter(twilio_standin)
    twilio_standin.fail_next(kind="server_error")
    with pytest.raises(TransientError):
        adapter.send(sms())
    assert adapter.find_sent(sms(), datetime.now(UTC) - timedelta(minutes=1)) is None
    assert adapter.fetch_status("SM" + "0" * 32) is None


def test_timeout_is_transient_and_the_slow_send_is_found_afterwards(twilio_standin):
    adapter = make_adapter(twilio_standin, timeout_s=0.3)
    since = datetime.now(UTC)
    twilio_standin.fail_next(kind="hang", hang_s=0.8)
    with pytest.raises(TransientError, match="did not answer in time") as caught:
        adapter.send(sms())
    assert caught.value.maybe_sent
    for _ in range(50):  # the stand-in finishes processing after the client gave up
        if twilio_standin.messages:
            break
        twilio_standin.stopping.wait(0.05)
    assert adapter.find_sent(sms(), since) is not None


def test_connection_refused_is_transient_and_provably_not_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = TwilioAdapter(
        {"account_sid": "AC1", "auth_token": "t", "base_url": f"http://127.0.0.1:{port}"},
        timeout_s=0.5,
    )
    with pytest.raises(TransientError) as caught:
        adapter.send(sms())
    assert caught.value.maybe_sent is False


def test_status_callbacks_are_signed_and_parsed_with_unknown_params_and_duplicates(
    twilio_standin, sink
):
    adapter = make_adapter(twilio_standin)
    result = adapter.send(sms(callback=sink.webhook_url("/hooks/twilio/status")))
    twilio_standin.message_status(result.provider_id, "sent", RawDlrDoneDate="2601011200")
    twilio_standin.message_status(result.provider_id, "delivered", ChannelPrefix="sms")
    twilio_standin.message_status(result.provider_id, "delivered", ChannelPrefix="sms")
    callbacks = sink.wait_for(3)
    updates = []
    for callback in callbacks:
        request = callback.as_webhook()
        assert adapter.verify_signature(
            request.url, request.headers, request.raw_body, request.form
        )
        updates += adapter.parse_status_webhook(request)
    assert [u.status for u in updates] == ["sent", "delivered", "delivered"]
    assert {u.provider_id for u in updates} == {result.provider_id}
    assert updates[1].reference == updates[2].reference == "run1:node2:1"
    assert updates[1].raw == updates[2].raw  # a duplicate is recognisably the same


def test_fetch_status_after_delivery_carries_price(twilio_standin, sink):
    adapter = make_adapter(twilio_standin)
    result = adapter.send(sms(callback=sink.webhook_url()))
    twilio_standin.complete(result.provider_id)
    status = adapter.fetch_status(result.provider_id)
    assert status.status == "delivered"
    assert status.price == Decimal("0.0079") and status.currency == "USD"


def test_published_twilio_signature_vector_passes():
    assert twilio_signature(VECTOR_URL, VECTOR_PARAMS, "12345") == VECTOR_SIGNATURE
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "12345"})
    headers = {"X-Twilio-Signature": VECTOR_SIGNATURE}
    assert adapter.verify_signature(VECTOR_URL, headers, b"", VECTOR_PARAMS)


@pytest.mark.parametrize(
    "url, params",
    [
        (VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}),
        (VECTOR_URL, {**VECTOR_PARAMS, "Extra": "x"}),
        ("https://mycompany.com/myapp.php?foo=1&bar=3", VECTOR_PARAMS),
    ],
)
def test_a_tampered_param_or_url_fails_the_signature(url, params):
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "12345"})
    assert not adapter.verify_signature(url, {"X-Twilio-Signature": VECTOR_SIGNATURE}, b"", params)


def test_a_missing_signature_or_wrong_token_fails():
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "54321"})
    assert not adapter.verify_signature(VECTOR_URL, {}, b"", VECTOR_PARAMS)
    headers = {"x-twilio-signature": VECTOR_SIGNATURE}
    assert not adapter.verify_signature(VECTOR_URL, headers, b"", VECTOR_PARAMS)


def test_signature_tolerates_the_default_port_added_by_a_proxy():
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "12345"})
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert adapter.verify_signature(
        url, {"X-Twilio-Signature": VECTOR_SIGNATURE}, b"", VECTOR_PARAMS
    )


def _form_request(form, url="https://sangam.example/hooks/twilio/inbound"):
    return WebhookRequest(url=url, form=form)


def test_inbound_whatsapp_quick_reply_is_parsed_with_its_context():
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "t"})
    form = {
        "MessageSid": "SMin1",
        "From": "whatsapp:+919812345678",
        "To": "whatsapp:+14155238886",
        "Body": "Need help?",
        "ButtonPayload": "help",
        "ButtonText": "Need help?",
        "OriginalRepliedMessageSid": "SMout1",
        "ProfileName": "Asha",
        "NumMedia": "0",
    }
    (inbound,) = adapter.parse_inbound_webhook(_form_request(form))
    assert inbound.channel == "whatsapp" and inbound.from_number == "+919812345678"
    assert (inbound.button_payload, inbound.button_title) == ("help", "Need help?")
    assert inbound.context_id == "SMout1"


def test_gather_digits_become_a_key_press_and_a_new_call_an_inbound_call():
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "t"})
    (press,) = adapter.parse_inbound_webhook(
        _form_request({"CallSid": "CA1", "Digits": "1", "From": "+919812345678"})
    )
    assert (press.call_id, press.digits) == ("CA1", "1")
    (call,) = adapter.parse_inbound_webhook(
        _form_request(
            {
                "CallSid": "CA2",
                "From": "+919812345678",
                "To": "+15005550006",
                "Direction": "inbound",
                "CallStatus": "ringing",
            }
        )
    )
    assert (call.call_id, call.from_number, call.direction) == ("CA2", "+919812345678", "inbound")


def test_a_body_that_is_not_twilio_shaped_is_malformed():
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "t"})
    with pytest.raises(WebhookMalformed):
        adapter.parse_status_webhook(_form_request({"foo": "bar"}))
    with pytest.raises(WebhookMalformed):
        adapter.parse_inbound_webhook(_form_request({"Body": "hi"}))


def test_outbound_call_sends_escaped_twiml_and_reports_no_answer(twilio_standin, sink):
    adapter = make_adapter(twilio_standin)
    voice = VoiceFields(
        prompt='Order #58821 <today> & "soon". Press 1 to pay, 2 for an agent.',
        menu={"1": "pay_now", "2": "agent"},
        gather_action_url="https://sangam.example/ivr/gather?call=1&x=2",
    )
    msg = OutboundMessage(
        "voice", "+919812345678", "call-1", voice=voice, status_callback=sink.webhook_url()
    )
    result = adapter.send(msg)
    assert result.provider_id.startswith("CA")
    request = twilio_standin.requests_to("/Calls.json")[0]
    gather = ET.fromstring(request.form["Twiml"]).find("Gather")
    assert gather.attrib["action"] == "https://sangam.example/ivr/gather?call=1&x=2"
    assert (gather.attrib["input"], gather.attrib["numDigits"]) == ("dtmf", "1")
    assert gather.find("Say").text == voice.prompt
    assert request.form_lists["StatusCallbackEvent"] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]
    twilio_standin.call_status(result.provider_id, "no-answer")
    (callback,) = sink.wait_for(1)
    (status,) = adapter.parse_status_webhook(callback.as_webhook())
    assert (status.call_id, status.status, status.reference) == (
        result.provider_id,
        "no_answer",
        "call-1",
    )
    assert adapter.fetch_status(result.provider_id).status == "no_answer"


def test_twiml_gather_escapes_text_and_attributes():
    xml = twiml_gather("A & B < C", action_url="/ivr?a=1&b=2", menu={"1": "x"})
    assert "A &amp; B &lt; C" in xml and 'action="/ivr?a=1&amp;b=2"' in xml
    assert ET.fromstring(xml).find("Gather").attrib["method"] == "POST"


def test_price_counts_sms_segments_and_nothing_for_a_failed_sms():
    adapter = TwilioAdapter({"account_sid": "AC1", "auth_token": "t"})
    long_hindi = OutboundMessage("sms", "+919812345678", "k", body="आपका ऑर्डर " * 10)
    assert adapter.price(long_hindi, "delivered") == Decimal("0.20") * 2
    assert adapter.price(long_hindi, "failed") == Decimal("0")
