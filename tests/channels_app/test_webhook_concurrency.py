# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures / standins)
"""The same signed Twilio status delivered 3 times at once to a real server, and statuses out of
order: one outcome event each, status never backwards."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import Message
from channels_app.outbox.dispatch import outbox_dispatch
from console.models import Event
from tests.channels_app.outbox_fixtures import customer_make, sms_enqueue, twilio_account
from tests.standins.fixtures import twilio_standin  # noqa: F401


@pytest.fixture
def sent(transactional_db, workspace, twilio_standin, daphne_server, settings):
    from channels_app.tmpl.demo import demo_templates_seed

    settings.PUBLIC_URL = daphne_server
    demo_templates_seed(workspace)
    twilio_account(workspace, twilio_standin)
    sms_enqueue(customer_make(workspace), at=timezone.now() - timedelta(seconds=1))
    outbox_dispatch()
    return Message.objects.get()


def test_three_concurrent_deliveries_of_one_status_give_one_event(sent, twilio_standin):
    answers = []

    def deliver():
        answers.append(twilio_standin.message_status(sent.provider_id, "delivered").status_code)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200, 200]
    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert Event.objects.filter(name="message.delivered").count() == 1


def test_out_of_order_statuses_over_http_stay_monotonic(sent, twilio_standin):
    assert twilio_standin.message_status(sent.provider_id, "delivered").status_code == 200
    assert twilio_standin.message_status(sent.provider_id, "sent").status_code == 200
    assert twilio_standin.message_status(sent.provider_id, "failed", "30003").status_code == 200
    sent.refresh_from_db()
    assert sent.status == "delivered"
    names = sorted(Event.objects.filter(source="channel").values_list("name", flat=True))
    assert names == ["message.delivered", "message.sent"]
