"""The journey dashboard in a real browser: charts draw offline, a number changes live when an
event arrives through the API, and a table exports as CSV."""

import httpx
import pytest

from analytics.rollups import rollups_update
from console.live import live_flush
from console.services import apikey_create
from tests.analytics.factories import (
    at,
    customer_make,
    journey_make,
    message_make,
    run_end,
    run_make,
    status_make,
    step_make,
)
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RANGE = "from=2026-03-01&to=2026-03-31"


def _journey(workspace):
    journey = journey_make(workspace, "Payment reminder")
    journey.versions.update(graph={"nodes": [
        {"id": "trigger", "kind": "trigger.event"}, {"id": "wa", "kind": "send"},
        {"id": "goal", "kind": "goal"},
    ]})  # fmt: skip
    for n in range(3):
        customer = customer_make(workspace, n, phone=f"+91981234567{n}")
        run = run_make(journey, customer, hours=n, key=f"L{n}", status="waiting")
        step_make(run, "trigger", kind="trigger.event", hours=n)
        step_make(run, "ab", kind="split", port="ab"[n % 2], hours=n)
        step_make(run, "wa", hours=n)
        status_make(message_make(customer, run=run, node="wa", hours=n, cost="0.5"), "sent", n)
        if n == 0:
            step_make(run, "goal", kind="goal", port="", hours=n + 2)
            run_end(run, "completed", n + 2, goal=True)
    rollups_update()
    return journey


def test_journey_dashboard_draws_charts_updates_live_and_exports_csv(
    page, daphne_server, workspace, make_member, tmp_path
):
    make_member(workspace, "marketing", username="meera")
    journey = _journey(workspace)
    _key, secret = apikey_create(workspace=workspace, name="browser analytics")

    login(page, "meera", PASSWORD)
    page.goto(f"/analytics/journeys/{journey.pk}/?{RANGE}")
    page.wait_for_selector("[data-chart=funnel][data-drawn=yes] .main-svg")
    page.wait_for_selector("[data-chart=trend][data-drawn=yes] .main-svg")
    page.wait_for_selector("[data-chart=arms][data-drawn=yes] .main-svg")  # A/B arms with CIs
    page.wait_for_selector("body[data-live='on']")
    rate = page.get_by_test_id("escalation-rate")
    assert rate.inner_text() == "0.0%"
    page.evaluate("window.__marker = 'same page'")

    response = httpx.post(
        f"{daphne_server}/api/v1/events",
        headers={"Authorization": f"Bearer {secret}"},
        json={"event_id": "call-1", "customer": {"external_id": "C1"}, "name": "inbound.call",
              "occurred_at": at(5).isoformat(), "properties": {"channel": "voice"}},
    )  # fmt: skip
    assert response.status_code == 202
    rollups_update()  # what the per-minute schedule does within about a second
    live_flush()

    page.wait_for_function(
        "document.querySelector('[data-testid=escalation-rate]').innerText === '33.3%'",
        timeout=10_000,
    )
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    page.wait_for_selector("[data-chart=funnel][data-drawn=yes] .main-svg")  # redrawn after swap

    with page.expect_download() as download:
        page.locator("[data-table=funnel]").locator("xpath=..").get_by_role(
            "link", name="CSV"
        ).click()
    path = tmp_path / "funnel.csv"
    download.value.save_as(path)
    text = path.read_text()
    assert text.startswith("node,label,reached,ended here,drop-off")
    assert "wa,send,3,0,0.0%" in text

    assert page.console_errors == []
    assert page.outside_requests == []
