"""Exotel adapter over real HTTP against the local stand-in (no internet)."""

from decimal import Decimal

import pytest

from channels_app.providers.base import (
    AuthFailed,
    OutboundMessage,
    PermanentError,
    RateLimited,
    SmsFields,
    TransientError,
    VoiceFields,
    WebhookMalformed,
    WebhookRequest,
)
from channels_app.providers.exotel import (
    PASSTHRU_MATCH,
    PASSTHRU_OTHER,
    ExotelAdapter,
    exotel_digits,
    passthru_answer,
)

pytest_plugins = ["tests.standins.fixtures"]

WEBHOOK_TOKEN = "exo-webhook-token-0123456789"
ENGLISH_TEMPLATE = "1107160000000000001"
HINDI_TEMPLATE = "1107160000000000002"


def make_adapter(standin, timeout_s=2.0, **overrides) -> ExotelAdapter:
    credentials = {
        "api_key": standin.api_key,
        "api_token": standin.api_token,
        "account_sid": standin.account_sid,
        "webhook_token": WEBHOOK_TOKEN,
        "sms_from": "MUZZTK",
        "caller_id": standin.caller_id,
        "dlt_entity_id": "1101456780000012345",
        "base_url": standin.url,
        **overrides,
    }
    return ExotelAdapter(credentials, timeout_s=timeout_s)


def dlt_sms(
    body="Your order #58821 is out for delivery. - MUZZTK",
    template=ENGLISH_TEMPLATE,
    key="run1:sms:1",
    callback="",
    to="+919812345678",
    sms_type="service",
):
    fields = SmsFields(header="MUZZTK", dlt_template_id=template, sms_type=sms_type)
    return OutboundMessage("sms", to, key, body=body, status_callback=callback, sms=fields)


def test_sms_send_carries_dlt_ids_encoding_and_a_token_on_the_callback(exotel_standin):
    result = make_adapter(exotel_standin).send(dlt_sms(callback="https://sangam.example/h/exo"))
    assert result.status == "queued" and len(result.provider_id) == 32
    (request,) = exotel_standin.requests
    assert request.path == f"/v1/Accounts/{exotel_standin.account_sid}/Sms/send.json"
    form = request.form
    assert (form["From"], form["To"]) == ("MUZZTK", "+919812345678")
    assert (form["DltEntityId"], form["DltTemplateId"]) == ("1101456780000012345", ENGLISH_TEMPLATE)
    assert form["EncodingType"] == "plain" and form["SmsType"] == "transactional"
    assert form["CustomField"] == "run1:sms:1"
    assert form["StatusCallback"] == (
        f"https://sangam.example/h/exo?sangam_token={WEBHOOK_TOKEN}&sangam_ref=run1%3Asms%3A1"
    )


def test_hindi_text_is_sent_as_unicode(exotel_standin):
    make_adapter(exotel_standin).send(
        dlt_sms(body="आपका ऑर्डर 58821 आज पहुंचेगा।", template=HINDI_TEMPLATE)
    )
    assert exotel_standin.requests[-1].form["EncodingType"] == "unicode"


def test_a_missing_dlt_template_id_is_a_permanent_400(exotel_standin):
    with pytest.raises(PermanentError) as caught:
        make_adapter(exotel_standin).send(dlt_sms(template=""))
    assert caught.value.status_code == 400
    assert "DltTemplateId" in caught.value.reason


def test_text_not_matching_the_dlt_template_fails_with_23082(exotel_standin, sink):
    adapter = make_adapter(exotel_standin)
    result = adapter.send(dlt_sms(body="Buy now! 50% off", callback=sink.webhook_url()))
    exotel_standin.complete(result.provider_id)
    (callback,) = sink.wait_for(1)
    request = callback.as_webhook()
    assert adapter.verify_signature(request.url, request.headers, request.raw_body, request.form)
    (update,) = adapter.parse_status_webhook(request)
    assert (update.status, update.error_code) == ("failed", "23082")
    assert "does not match the registered DLT template" in update.error_reason
    assert update.reference == "run1:sms:1"


def test_promotional_sms_to_a_dnd_number_fails_as_dnd(exotel_standin, sink):
    adapter = make_adapter(exotel_standin)
    msg = dlt_sms(to="+919800000099", sms_type="promotional", callback=sink.webhook_url())
    exotel_standin.complete(adapter.send(msg).provider_id)
    (update,) = adapter.parse_status_webhook(sink.wait_for(1)[0].as_webhook())
    assert update.status == "failed" and "DND" in update.error_reason


def test_delivery_callback_parses_units_and_price_and_fetch_agrees(exotel_standin, sink):
    adapter = make_adapter(exotel_standin)
    result = adapter.send(dlt_sms(callback=sink.webhook_url()))
    exotel_standin.complete(result.provider_id)
    (update,) = adapter.parse_status_webhook(sink.wait_for(1)[0].as_webhook())
    assert update.status == "delivered" and update.error_code == ""
    assert update.raw["SmsUnits"] == "1"
    fetched = adapter.fetch_status(result.provider_id)
    assert fetched.status == "delivered" and fetched.price == Decimal("0.20")


def test_bad_credentials_are_auth_failed(exotel_standin):
    with pytest.raises(AuthFailed):
        make_adapter(exotel_standin, api_token="wrong").send(dlt_sms())


def test_429_retry_after_500_and_timeout(exotel_standin):
    adapter = make_adapter(exotel_standin, timeout_s=0.3)
    exotel_standin.fail_next(kind="rate_limit", retry_after="12")
    with pytest.raises(RateLimited) as caught:
        adapter.send(dlt_sms())
    assert caught.value.retry_after_s == 12.0
    exotel_standin.fail_next(kind="server_error")
    with pytest.raises(TransientError):
        adapter.send(dlt_sms())
    exotel_standin.fail_next(kind="hang", hang_s=0.8)
    with pytest.raises(TransientError, match="did not answer in time"):
        adapter.send(dlt_sms())


def test_after_a_500_the_callback_names_our_reference_and_fetch_finds_the_sms(exotel_standin, sink):
    adapter = make_adapter(exotel_standin)
    exotel_standin.fail_next(kind="create_then_500")
    with pytest.raises(TransientError):
        adapter.send(dlt_sms(key="run7:sms:1", callback=sink.webhook_url()))
    (sid,) = exotel_standin.sms
    assert adapter.fetch_status(sid).status == "queued"
    exotel_standin.complete(sid)
    (update,) = adapter.parse_status_webhook(sink.wait_for(1)[0].as_webhook())
    assert (update.provider_id, update.reference) == (sid, "run7:sms:1")
    assert adapter.fetch_status("f" * 32) is None


def test_a_call_connects_to_the_flow_and_reports_no_answer(exotel_standin, sink):
    adapter = make_adapter(exotel_standin)
    flow = f"http://my.exotel.com/{exotel_standin.account_sid}/exoml/start_voice/12345"
    msg = OutboundMessage(
        "voice",
        "+919812345678",
        "call-9",
        voice=VoiceFields(flow_url=flow),
        status_callback=sink.webhook_url("/h/exo/call"),
    )
    result = adapter.send(msg)
    form = exotel_standin.requests[-1].form
    assert exotel_standin.requests[-1].path.endswith("/Calls/connect.json")
    assert (form["From"], form["CallerId"], form["Url"]) == (
        "+919812345678",
        exotel_standin.caller_id,
        flow,
    )
    assert form["StatusCallbackEvents[0]"] == "terminal"
    exotel_standin.call_status(result.provider_id, "no-answer")
    (status,) = adapter.parse_status_webhook(sink.wait_for(1)[0].as_webhook())
    assert (status.call_id, status.status, status.reference) == (
        result.provider_id,
        "no_answer",
        "call-9",
    )
    assert adapter.fetch_status(result.provider_id).status == "no_answer"


def test_a_call_with_a_wrong_caller_id_is_a_permanent_error(exotel_standin):
    msg = OutboundMessage("voice", "+919812345678", "c", voice=VoiceFields(flow_url="http://f"))
    with pytest.raises(PermanentError, match="ExoPhone"):
        make_adapter(exotel_standin, caller_id="0800000000").send(msg)


def test_passthru_digits_arrive_quoted_and_are_stripped(exotel_standin, sink):
    adapter = make_adapter(exotel_standin)
    url = adapter.callback_url(sink.webhook_url("/ivr/exotel/passthru"))
    exotel_standin.passthru(url, "call-sid-1", digits="1", custom="call-9")
    exotel_standin.passthru(url, "call-sid-2", digits=None, direction="incoming")
    first, second = (r.as_webhook() for r in sink.wait_for(2))
    assert first.method == "GET" and first.query["digits"] == '"1"'
    assert adapter.verify_signature(first.url, first.headers, first.raw_body, first.form)
    (press,) = adapter.parse_inbound_webhook(first)
    assert (press.call_id, press.digits, press.custom) == ("call-sid-1", "1", "call-9")
    assert press.from_number == "+919812345678"
    (call,) = adapter.parse_inbound_webhook(second)
    assert (call.call_id, call.from_number, call.direction) == (
        "call-sid-2",
        "+919812345678",
        "inbound",
    )
    assert "sangam_token" not in press.raw


def test_passthru_answer_tells_the_two_branches_apart():
    assert passthru_answer(True) == PASSTHRU_MATCH == 200
    assert passthru_answer(False) == PASSTHRU_OTHER == 302
    assert exotel_digits('"12"') == "12" and exotel_digits('""') == ""


def test_the_webhook_token_is_compared_and_a_wrong_or_missing_one_fails(exotel_standin):
    adapter = make_adapter(exotel_standin)
    good = adapter.callback_url("https://sangam.example/h/exo?x=1")
    assert adapter.verify_signature(good, {}, b"", {})
    assert not adapter.verify_signature(good.replace(WEBHOOK_TOKEN, "guess" * 6), {}, b"", {})
    assert not adapter.verify_signature("https://sangam.example/h/exo?x=1", {}, b"", {})


def test_webhook_token_must_be_long_enough():
    with pytest.raises(ValueError, match="webhook_token"):
        ExotelAdapter({"api_key": "k", "api_token": "t", "account_sid": "s", "webhook_token": "x"})


def test_json_status_callbacks_and_unknown_params_are_tolerated_and_garbage_is_malformed():
    adapter = ExotelAdapter(
        {"api_key": "k", "api_token": "t", "account_sid": "s", "webhook_token": WEBHOOK_TOKEN}
    )
    body = b'{"CallSid": "c1", "Status": "busy", "EventType": "terminal", "Legs": []}'
    (status,) = adapter.parse_status_webhook(WebhookRequest(url="https://x/h", raw_body=body))
    assert status.status == "busy"
    with pytest.raises(WebhookMalformed):
        adapter.parse_status_webhook(WebhookRequest(url="https://x/h", form={"foo": "bar"}))
    with pytest.raises(WebhookMalformed):
        adapter.parse_status_webhook(
            WebhookRequest(url="https://x/h", form={"SmsSid": "s", "Status": "teleported"})
        )


def test_exotel_refuses_whatsapp_before_any_request(exotel_standin):
    with pytest.raises(ValueError, match="WhatsApp"):
        make_adapter(exotel_standin).send(OutboundMessage("whatsapp", "+919812345678", "k"))
    assert exotel_standin.requests == []
