"""Live notices: published on commit only, coalesced, relayed across processes in embedded mode."""

import asyncio
import time

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from console import live
from console.live import live_flush, live_group, live_publish
from console.models import LiveNotice
from tests.conftest import run_async


@pytest.fixture
def relay_mode(settings, transactional_db):
    settings.LIVE_DIRECT = False
    live_flush()
    LiveNotice.objects.all().delete()


def test_a_burst_of_ten_thousand_notices_becomes_a_few_rows_per_topic(relay_mode, settings):
    started = time.monotonic()
    with transaction.atomic():
        for i in range(10_000):
            live_publish("journey:7", steps=i)
            live_publish(f"customer:{i % 3}", kind="timeline")
    live_flush()
    elapsed = time.monotonic() - started
    rows = list(LiveNotice.objects.order_by("id").values_list("group", "payload"))
    # One row per coalescing interval at most (the background flush may cut the burst), each
    # holding every topic of its interval once.
    most = 1 + int(elapsed / settings.LIVE_RELAY_INTERVAL) + 1
    assert {group for group, _ in rows} == {live.BATCH_GROUP} and len(rows) <= most
    topics = [topic for _, payload in rows for topic in payload]
    assert set(topics) == {"customer:0", "customer:1", "customer:2", "journey:7"}
    assert len(topics) < 100  # from 20,000 publishes
    assert rows[-1][1]["journey:7"] == {"steps": 9999}


def test_nothing_is_published_when_the_transaction_rolls_back(relay_mode, db):
    with pytest.raises(RuntimeError), transaction.atomic():
        live_publish("customer:1", kind="timeline")
        raise RuntimeError("boom")
    live_flush()
    assert LiveNotice.objects.count() == 0


def test_relay_forwards_new_notices_to_the_group_once_per_topic(
    relay_mode, transactional_db, settings
):
    settings.LIVE_RELAY_INTERVAL = 0.05

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(live_group("customer:5"), channel)
        live.live_relay_ensure()
        await asyncio.sleep(0.3)  # relay starts from the newest row
        from channels.db import database_sync_to_async

        def publish():
            for n in range(50):
                live_publish("customer:5", n=n)
            live_flush()

        await database_sync_to_async(publish)()
        message = await asyncio.wait_for(layer.receive(channel), timeout=5)
        live._relay_task.cancel()
        return message

    message = run_async(scenario())
    assert message["type"] == "live.notice"
    assert message["topic"] == "customer:5"
    assert message["data"] == {"n": 49}


async def _connect(path, cookie=None):
    from channels.testing import WebsocketCommunicator

    from console.asgi import application

    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    reply = await communicator.receive_json_from() if connected else None
    await communicator.disconnect()
    return connected, code, reply


def test_websocket_refuses_anonymous_visitors(transactional_db):
    connected, code, _ = run_async(_connect("/ws/live/?topics=workspace:1"))
    assert not connected and code == 4401


def test_websocket_subscribes_only_to_topics_of_the_users_workspace(
    transactional_db, client, workspace, other_workspace, make_member
):
    from console.models import Customer

    ours = Customer.objects.create(workspace=workspace, external_id="A")
    theirs = Customer.objects.create(workspace=other_workspace, external_id="B")
    client.force_login(make_member(workspace, "viewer"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    topics = f"customer:{ours.id},customer:{theirs.id},workspace:{workspace.id},workspace:{other_workspace.id},bogus:1"
    connected, _, reply = run_async(_connect(f"/ws/live/?topics={topics}", cookie))
    assert connected
    assert reply == {
        "type": "subscribed",
        "topics": [f"customer:{ours.id}", f"workspace:{workspace.id}"],
    }
