"""The builder's live overlay in a real browser: an event sent through the API enters the journey,
the engine moves the run, and the trigger node's count goes up on the open canvas without a
reload; clicking the node where the customer waits lists them with the reason."""

from __future__ import annotations

import httpx
import pytest

from console.live import live_flush
from console.models import Customer, Event
from console.services import apikey_create
from journeys.services import journey_create, journey_publish
from journeys.services.enrolment import events_process
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GRAPH = {
    "format": 1,
    "entry": {"correlation_key": "order_id"},
    "nodes": [
        {"id": "trigger", "kind": "trigger.event", "config": {"event": "order.placed"},
         "position": {"x": 60, "y": 120}, "label": "Order placed"},
        {"id": "pause", "kind": "wait", "config": {"mode": "duration", "hours": 2},
         "position": {"x": 340, "y": 120}, "label": "Two hours"},
        {"id": "done", "kind": "exit", "config": {"reason": "done"},
         "position": {"x": 620, "y": 120}, "label": "Done"},
    ],
    "edges": [
        {"from": "trigger", "port": "out", "to": "pause"},
        {"from": "pause", "port": "out", "to": "done"},
    ],
}  # fmt: skip


def node(page, node_id: str):
    return page.locator(f'#canvas g[data-cell-id="{node_id}"]')


def node_text(page, node_id: str) -> str:
    """The node's SVG text (X6 writes spaces as no-break spaces)."""
    return node(page, node_id).text_content().replace("\xa0", " ")


def test_an_api_event_raises_the_trigger_count_on_the_open_canvas_without_reload(
    page, daphne_server, workspace, make_member
):
    make_member(workspace, "marketing", username="meera")
    journey = journey_create(workspace=workspace, name="Order follow-up", graph=GRAPH)
    journey_publish(journey=journey, note="v1")
    Customer.objects.create(
        workspace=workspace, external_id="CUST-58821", name="Meenakshi Iyer",
        name_key="meenakshi iyer", phone="+919840012345", whatsapp=True,
    )  # fmt: skip
    _key, secret = apikey_create(workspace=workspace, name="browser test")

    login(page, "meera", PASSWORD)
    page.goto(f"/journeys/{journey.pk}/builder/")
    page.wait_for_selector("body[data-live='on']")
    assert node(page, "trigger").get_attribute("data-live-entered") == "0"
    assert "0 in · 0 now" in node_text(page, "trigger")
    page.evaluate("window.__marker = 'same page'")

    response = httpx.post(
        f"{daphne_server}/api/v1/events",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "event_id": "evt-live-1",
            "customer": {"external_id": "CUST-58821"},
            "name": "order.placed",
            "properties": {"order_id": "58821"},
        },
    )
    assert response.status_code == 202, response.text
    # The engine's task for the batch, as a worker runs it (the server only queued it).
    event = Event.objects.get(workspace=workspace, idempotency_key="evt-live-1")
    events_process(event_ids=[event.pk])
    live_flush()

    page.wait_for_selector('#canvas g[data-cell-id="trigger"][data-live-entered="1"]')
    page.wait_for_selector('#canvas g[data-cell-id="pause"][data-live-here="1"]')
    assert "1 in · 0 now" in node_text(page, "trigger")
    assert "out 1" in node_text(page, "trigger")  # the port it took, counted
    page.locator("[data-testid=live-open]", has_text="1").wait_for(state="attached")
    assert page.evaluate("window.__marker") == "same page"  # no reload happened

    node(page, "pause").locator("text.live-pill").click()
    waiting = page.locator("#live-node")
    waiting.locator("a", has_text="Meenakshi Iyer").wait_for()
    assert page.locator('[data-testid="waiting-total"]').inner_text() == "1"
    assert "Waiting for:" in waiting.inner_text()
    assert page.console_errors == []
    assert page.outside_requests == []
