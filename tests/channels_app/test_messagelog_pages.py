# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""The message log: filters, keyset pages, detail with statuses and redacted payloads."""

from datetime import timedelta

import pytest

from channels_app.models import Message
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.outcomes import message_outcome_record
from tests.channels_app.outbox_fixtures import NOON, customer, seeded, sms_enqueue  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_log_filters_and_pages_newest_first(client_as, customer):
    for n in range(3):
        sms_enqueue(customer, key=f"k{n}")
    client = client_as("support")
    page = client.get("/channels/messages/?channel=sms&status=queued").content.decode()
    assert page.count("order_confirmation_sms") == 3
    assert "No messages match" in client.get("/channels/messages/?channel=voice").content.decode()
    from channels_app.outbox import selectors

    selectors.PAGE_SIZE, old = 2, selectors.PAGE_SIZE
    try:
        first = client.get("/channels/messages/").content.decode()
        ids = list(Message.objects.order_by("-id").values_list("id", flat=True))
        assert f"before={ids[1]}" in first
        second = client.get(f"/channels/messages/?before={ids[1]}").content.decode()
        assert f'href="/channels/messages/{ids[2]}/"' in second
    finally:
        selectors.PAGE_SIZE = old


def test_the_detail_shows_decision_statuses_and_redacted_payloads(client_as, customer):
    sms_enqueue(customer)
    outbox_dispatch(now=NOON + timedelta(seconds=1))
    message = Message.objects.get()
    message_outcome_record(
        message=message,
        status="delivered",
        source="webhook:test",
        raw={"auth_token": "supersecret-9999", "MessageStatus": "delivered"},
    )
    page = client_as("support").get(f"/channels/messages/{message.pk}/").content.decode()
    assert "58821" in page and "Allowed now" in page
    assert "sending" in page and "delivered" in page
    assert "supersecret" not in page
    assert "auth_token&quot;: &quot;****" in page


def test_another_workspaces_message_is_not_found(client_as, customer, other_workspace):
    sms_enqueue(customer)
    Message.objects.update(workspace=other_workspace)
    assert (
        client_as("admin").get(f"/channels/messages/{Message.objects.get().pk}/").status_code == 404
    )
