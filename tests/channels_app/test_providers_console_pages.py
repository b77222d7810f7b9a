# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""Channels settings pages: encrypted credentials never shown back, routing, simulator, IVR
menus, test sends, permissions and workspace isolation."""

import pytest

from channels_app.models import ChannelRoute, IvrMenu, ProviderAccount
from channels_app.providers_console.crypto import secret_decrypt
from tests.standins.fixtures import twilio_standin  # noqa: F401

pytestmark = pytest.mark.django_db
TOKEN = "tw-token-12345"


def save_twilio(client, standin, name="Twilio India"):
    return client.post("/channels/providers/save/", {
        "kind": "twilio", "name": name, "rate_limit_per_s": "5",
        "cred_account_sid": standin.account_sid, "cred_auth_token": TOKEN,
        "cred_sms_from": "+15005550006", "cred_base_url": standin.url,
    })  # fmt: skip


def test_credentials_are_encrypted_and_shown_masked(client_as, workspace, twilio_standin):
    admin = client_as("admin")
    assert save_twilio(admin, twilio_standin).status_code == 302
    account = ProviderAccount.objects.get()
    assert TOKEN not in account.credentials
    assert secret_decrypt(account.credentials)["auth_token"] == TOKEN
    page = admin.get("/channels/providers/").content.decode()
    assert TOKEN not in page and "••••2345" in page


def test_a_missing_credential_names_the_field(client_as, workspace):
    response = client_as("admin").post("/channels/providers/save/", {
        "kind": "twilio", "name": "T", "cred_account_sid": "AC1"})  # fmt: skip
    assert response.status_code == 400 and "auth_token" in response.content.decode()


def test_routing_and_a_test_message_go_through_the_account(client_as, workspace, twilio_standin):
    admin = client_as("admin")
    save_twilio(admin, twilio_standin)
    account = ProviderAccount.objects.get()
    admin.post("/channels/providers/routes/", {"route_sms": account.pk})
    assert ChannelRoute.objects.get(channel="sms").account == account
    response = admin.post(
        f"/channels/providers/{account.pk}/test/",
        {"to": "+919812345678", "channel": "sms"},
        follow=True,
    )
    assert "accepted the test message" in response.content.decode()
    assert len(twilio_standin.requests_to("/Messages.json")) == 1


def test_only_channel_managers_change_providers(client_as, workspace, twilio_standin):
    assert save_twilio(client_as("marketing"), twilio_standin).status_code == 403
    assert client_as("viewer").get("/channels/providers/").status_code == 200


def test_another_workspace_cannot_use_an_account(
    client_as, workspace, other_workspace, twilio_standin, make_member
):
    save_twilio(client_as("admin"), twilio_standin)
    account = ProviderAccount.objects.get()
    from django.test import Client

    make_member(other_workspace, "admin", username="other-admin")
    other = Client()
    other.login(username="other-admin", password="test-pass-2026")
    assert other.post(f"/channels/providers/{account.pk}/test/", {"to": "+91"}).status_code == 404


def test_simulator_settings_validate_each_field(client_as, workspace):
    admin = client_as("admin")
    bad = admin.post("/channels/providers/simulator/", {"config": '{"sms_delivered": 3}'})
    assert bad.status_code == 400 and "sms_delivered" in bad.content.decode()
    ok = admin.post(
        "/channels/providers/simulator/", {"config": '{"seed": 7}', "manual_channels": ["voice"]}
    )
    assert ok.status_code == 302


def test_ivr_menus_are_edited_per_language(client_as, workspace):
    admin = client_as("operations")
    ok = admin.post(
        "/channels/ivr/",
        {
            "key": "inbound",
            "language": "hi",
            "greeting": "नमस्ते",
            "actions": '{"2": {"action": "agent"}}',
        },
    )
    assert ok.status_code == 302 and IvrMenu.objects.get().language == "hi"
    bad = admin.post(
        "/channels/ivr/",
        {
            "key": "inbound",
            "language": "en",
            "greeting": "Hi",
            "actions": '{"1": {"action": "send"}}',
        },
    )
    assert bad.status_code == 400 and "template_key" in bad.content.decode()


def test_the_channels_home_links_everything(client_as, workspace):
    page = client_as("viewer").get("/channels/").content.decode()
    for path in (
        "/channels/providers/",
        "/channels/messages/",
        "/channels/phone/",
        "/channels/ivr/",
        "/channels/policies/",
    ):
        assert path in page
