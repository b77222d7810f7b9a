"""The provider interface: registry, value validation, redaction, webhook requests, helpers."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest

from channels_app.providers import ProviderAdapter, provider_get, provider_kinds
from channels_app.providers.base import (
    OutboundMessage,
    PermanentError,
    SmsFields,
    WebhookRequest,
    parse_timestamp,
    redact,
    reference_of,
    strip_channel_prefix,
    with_query,
)
from channels_app.providers.transport import retry_after_seconds

CREDENTIALS = {
    "twilio": {"account_sid": "AC1", "auth_token": "t"},
    "meta": {"access_token": "t", "phone_number_id": "1", "app_secret": "s"},
    "exotel": {"api_key": "k", "api_token": "t", "account_sid": "s", "webhook_token": "w" * 16},
    "simulator": {},
}


def test_every_provider_kind_is_registered_and_speaks_the_interface():
    assert provider_kinds() == ["exotel", "meta", "simulator", "twilio"]
    for kind in provider_kinds():
        adapter = provider_get(kind)(CREDENTIALS[kind])
        assert isinstance(adapter, ProviderAdapter)
        assert adapter.kind == kind and adapter.channels


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(KeyError, match="known: exotel, meta, simulator, twilio"):
        provider_get("carrier-pigeon")


def test_missing_credentials_name_the_field():
    with pytest.raises(ValueError, match="app_secret"):
        provider_get("meta")({"access_token": "t", "phone_number_id": "1", "app_secret": ""})
    with pytest.raises(ValueError, match="account_sid"):
        provider_get("twilio")({"account_sid": "XX1", "auth_token": "t"})


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"channel": "fax"}, "channel"),
        ({"to": "9812345678"}, "to"),
        ({"to": "+91 98123 45678"}, "to"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_outbound_messages_are_validated_with_the_field_named(kwargs, field):
    values = {"channel": "sms", "to": "+919812345678", "idempotency_key": "k", **kwargs}
    with pytest.raises(ValueError, match=field):
        OutboundMessage(**values)


def test_sms_encoding_must_be_plain_unicode_or_automatic():
    with pytest.raises(ValueError, match="sms.encoding"):
        SmsFields(encoding="utf-8")


def test_permanent_errors_read_well_and_keep_their_code():
    error = PermanentError(
        "23082", "the SMS text does not match the DLT template", provider="exotel"
    )
    assert str(error) == "the SMS text does not match the DLT template [23082]"
    assert (error.code, error.provider) == ("23082", "exotel")


def test_redact_masks_secrets_at_any_depth_and_keeps_the_rest():
    raw = {"auth_token": "abcdef123456", "to": "+91981", "nested": [{"api_key": "k"}]}
    assert redact(raw) == {
        "auth_token": "****3456",
        "to": "+91981",
        "nested": [{"api_key": "****"}],
    }


def test_webhook_requests_lowercase_headers_and_merge_query_with_form():
    request = WebhookRequest(
        url="https://x/h?sangam_ref=r1&a=1", headers={"X-Twilio-Signature": "s"}, form={"a": "2"}
    )
    assert request.headers == {"x-twilio-signature": "s"}
    assert request.params == {"sangam_ref": "r1", "a": "2"}
    assert reference_of(request.url) == "r1"


def test_webhook_request_from_a_django_like_request():
    django_request = SimpleNamespace(
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "s"},
        POST=SimpleNamespace(dict=lambda: {"MessageSid": "SM1"}),
        method="POST",
        body=b"MessageSid=SM1",
        build_absolute_uri=lambda: "https://sangam.example/hooks?x=1",
    )
    request = WebhookRequest.from_django(django_request)
    assert request.form == {"MessageSid": "SM1"} and request.raw_body == b"MessageSid=SM1"
    assert request.url == "https://sangam.example/hooks?x=1"


def test_with_query_adds_and_replaces_parameters():
    assert with_query("https://x/h?a=1", b="2") == "https://x/h?a=1&b=2"
    assert with_query("https://x/h?a=1", a="3") == "https://x/h?a=3"
    assert with_query("", a="1") == ""


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds(None) == 1.0 and retry_after_seconds("soon") == 1.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 110 <= retry_after_seconds(later) <= 120


def test_timestamps_from_each_provider_parse_to_aware_datetimes():
    assert parse_timestamp("1767607200") == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert parse_timestamp("Mon, 05 Jan 2026 10:00:00 +0000") == datetime(
        2026, 1, 5, 10, 0, tzinfo=UTC
    )
    exotel = parse_timestamp("2026-01-05 15:30:00")  # IST
    assert exotel == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert parse_timestamp("") is None and parse_timestamp("garbage") is None


def test_channel_prefixes_are_stripped_to_e164():
    assert strip_channel_prefix("whatsapp:+919812345678") == "+919812345678"
    assert strip_channel_prefix("919812345678") == "+919812345678"


def test_a_request_body_is_parsed_once_for_both_of_an_adapter_s_parsers(monkeypatch):
    from channels_app.providers import base
    from channels_app.providers.simulator import SimEvent, SimulatorAdapter, simulator_webhook

    adapter = SimulatorAdapter()
    status = SimEvent("status", "SIMSM1", "sms", "2026-03-10T12:00:00+05:30", status="delivered")
    body, _ = simulator_webhook([status], adapter.config.secret)
    request = base.WebhookRequest(url="https://x/hooks/simulator", raw_body=body)
    parses = []
    real = base.orjson.loads
    monkeypatch.setattr(base.orjson, "loads", lambda raw: parses.append(raw) or real(raw))
    assert [o.status for o in adapter.parse_status_webhook(request)] == ["delivered"]
    assert adapter.parse_inbound_webhook(request) == []
    assert parses == [body]


def test_a_json_body_orjson_refuses_is_read_as_python_s_json_reads_it():
    from channels_app.providers.base import WebhookRequest

    request = WebhookRequest(url="x", raw_body=b'{"n": 123456789012345678901234567890, "x": NaN}')
    body = request.body_json
    assert body["n"] == 123456789012345678901234567890 and body["x"] != body["x"]
    with pytest.raises(ValueError):
        WebhookRequest(url="x", raw_body=b"not json").body_json  # noqa: B018
