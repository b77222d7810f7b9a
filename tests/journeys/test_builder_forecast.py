"""Dry run / forecast of a draft: stored events replayed through the draft with the pure engine
and the pure send decision; hand-built events whose right numbers are known."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from channels_app.policies.selectors import message_cost_estimate
from channels_app.tmpl.selectors import template_get_by_key
from console.models import Event
from journeys.builder import forecast as forecasting
from journeys.builder.forecast import journey_forecast, policy_facts_build
from journeys.builder.selectors import graph_parse
from journeys.models import Run
from journeys.services import journey_create
from tests.journeys.conftest import IST

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


def at_ist(days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = (timezone.now().astimezone(IST) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


def stored(customer, name, when, **properties):
    return Event.objects.create(
        workspace=customer.workspace, customer=customer, name=name, properties=properties,
        occurred_at=when, received_at=when, idempotency_key=f"fc-{next(_ids)}",
    )  # fmt: skip


def one_send(event: str, channel: str, template: str, purpose: str, **extra) -> dict:
    """trigger -> send -> exit (the send's skipped/failed ports end the run)."""
    return {
        "format": 1,
        "entry": {"correlation_key": "order_id", "one_active_per_key": True},
        "nodes": [
            {"id": "trigger", "kind": "trigger.event", "config": {"event": event}},
            {"id": "send", "kind": "send",
             "config": {"channel": channel, "template": template, "purpose": purpose}},
            {"id": "done", "kind": "exit", "config": {"reason": "sent"}},
        ],
        "edges": [
            {"from": "trigger", "port": "out", "to": "send"},
            {"from": "send", "port": "sent", "to": "done"},
        ],
        **extra,
    }  # fmt: skip


def run_forecast(workspace, graph, days=7, assume="read", end=None):
    journey = journey_create(workspace=workspace, name="Forecast me", graph=graph)
    return journey, journey_forecast(
        workspace=workspace,
        version=graph_parse(journey.draft),
        facts=policy_facts_build(workspace=workspace),
        end=end or timezone.now(),
        days=days,
        assume=assume,
    )


def cost(workspace, channel, category) -> Decimal:
    return message_cost_estimate(workspace=workspace, channel=channel, category=category)


def test_counts_customers_per_node_messages_cost_and_consent_blocks(
    workspace, templates, make_customer
):
    both = make_customer()  # consents to WhatsApp service messages
    no_whatsapp = make_customer(consent=("sms",))
    too_old = make_customer()
    browsing = make_customer()
    stored(both, "order.placed", at_ist(3, 11), order_id="O1")
    stored(both, "order.placed", at_ist(2, 11), order_id="O2")
    stored(no_whatsapp, "order.placed", at_ist(1, 11), order_id="O3")
    stored(too_old, "order.placed", at_ist(10, 11), order_id="O4")  # outside 7 days
    stored(browsing, "page.viewed", at_ist(1, 12))

    graph = one_send("order.placed", "whatsapp", "dispatch_whatsapp", "service")
    journey, result = run_forecast(workspace, graph)

    assert (result.customers, result.runs, result.refused) == (2, 3, 0)
    assert dict(result.reached) == {"trigger": 2, "send": 2, "done": 1}
    assert dict(result.messages) == {"whatsapp": 2}
    assert result.blocked["consent"] == 1
    assert result.reasons["no_consent:whatsapp:service"] == 1
    assert result.cost == 2 * cost(workspace, "whatsapp", "utility")
    assert dict(result.ended) == {"exited": 3}  # an exit node without a goal: exited
    assert not result.capped
    assert Run.objects.filter(journey=journey).count() == 0  # nothing was written


def test_promotional_sms_meets_the_daily_cap_and_quiet_hours(workspace, templates, make_customer):
    keen = make_customer(promotional=True)
    stored(keen, "promo.eligible", at_ist(2, 10), order_id="P1")
    stored(keen, "promo.eligible", at_ist(2, 10, 5), order_id="P2")  # same day: cap of 1
    stored(keen, "promo.eligible", at_ist(1, 22, 30), order_id="P3")  # after 21:00: deferred
    graph = one_send("promo.eligible", "sms", "return10_promo_sms", "promotional")
    _, result = run_forecast(workspace, graph)

    assert result.runs == 3
    assert result.blocked["caps"] == 1 and result.reasons["cap:daily"] == 1
    assert result.deferred == 1  # held to 09:00, then sent
    assert dict(result.messages) == {"sms": 2}
    assert result.cost == 2 * cost(workspace, "sms", "promotional")
    assert result.reached["done"] == 1  # one customer (twice)


def test_entry_rules_refuse_a_second_active_run_for_the_same_order(
    workspace, templates, make_customer
):
    customer = make_customer()
    stored(customer, "order.placed", at_ist(2, 11), order_id="O1")
    stored(customer, "order.placed", at_ist(2, 12), order_id="O1")
    graph = one_send("order.placed", "whatsapp", "dispatch_whatsapp", "service")
    graph["nodes"].insert(
        1, {"id": "pause", "kind": "wait", "config": {"mode": "duration", "hours": 5}}
    )
    graph["edges"] = [
        {"from": "trigger", "port": "out", "to": "pause"},
        {"from": "pause", "port": "out", "to": "send"},
        {"from": "send", "port": "sent", "to": "done"},
    ]
    _, result = run_forecast(workspace, graph)
    assert (result.runs, result.refused) == (1, 1)
    assert dict(result.messages) == {"whatsapp": 1}  # the wait's timer ran within the window


def test_unread_whatsapp_falls_back_to_sms_only_when_assumed_unread(
    workspace, templates, make_customer
):
    customer = make_customer()
    stored(customer, "payment.due", at_ist(3, 11), loan_id="L1")
    graph = {
        "format": 1,
        "entry": {"correlation_key": "loan_id"},
        "nodes": [
            {"id": "trigger", "kind": "trigger.event", "config": {"event": "payment.due"}},
            {"id": "wa", "kind": "send", "config": {"channel": "whatsapp",
             "template": "payment_reminder_whatsapp", "purpose": "service"}},
            {"id": "read", "kind": "wait_for",
             "config": {"outcome": "read", "message_node": "wa", "hours": 24}},
            {"id": "sms", "kind": "send", "config": {"channel": "sms",
             "template": "payment_reminder_sms", "purpose": "service"}},
            {"id": "thanks", "kind": "goal", "config": {}},
        ],
        "edges": [
            {"from": "trigger", "port": "out", "to": "wa"},
            {"from": "wa", "port": "sent", "to": "read"},
            {"from": "read", "port": "matched", "to": "thanks"},
            {"from": "read", "port": "timeout", "to": "sms"},
        ],
    }  # fmt: skip
    _, read = run_forecast(workspace, graph, assume="read")
    assert dict(read.messages) == {"whatsapp": 1}
    assert read.reached["thanks"] == 1 and read.reached["sms"] == 0
    _, unread = run_forecast(workspace, graph, assume="unread")
    assert dict(unread.messages) == {"whatsapp": 1, "sms": 1}  # 24h later: no echo block
    assert unread.reached["sms"] == 1 and unread.reached["thanks"] == 0


def test_a_payment_in_the_window_reaches_the_goal_before_the_fallback(
    workspace, templates, make_customer
):
    customer = make_customer()
    stored(customer, "payment.due", at_ist(3, 11), loan_id="L1")
    stored(customer, "payment.received", at_ist(3, 15), loan_id="L1")
    graph = one_send("payment.due", "sms", "payment_reminder_sms", "service")
    graph["entry"]["correlation_key"] = "loan_id"
    graph["goal"] = {"event": "payment.received"}
    graph["nodes"][2] = {
        "id": "done",
        "kind": "wait_for",
        "config": {"event": "never", "hours": 48},
    }
    graph["edges"].append({"from": "done", "port": "timeout", "to": "done_end"})
    graph["nodes"].append({"id": "done_end", "kind": "exit", "config": {}})
    _, result = run_forecast(workspace, graph)
    assert dict(result.ended) == {"completed": 1}
    assert result.reached["done_end"] == 0


def test_the_replay_is_capped_and_says_so(workspace, templates, make_customer, monkeypatch):
    monkeypatch.setattr(forecasting, "MAX_CUSTOMERS", 2)
    for n in range(3):
        stored(make_customer(), "order.placed", at_ist(1, 10 + n), order_id=f"O{n}")
    graph = one_send("order.placed", "whatsapp", "dispatch_whatsapp", "service")
    _, result = run_forecast(workspace, graph)
    assert result.customers == 2 and result.customers_capped and result.capped
    monkeypatch.setattr(forecasting, "MAX_CUSTOMERS", 10)
    monkeypatch.setattr(forecasting, "MAX_EVENTS", 2)
    _, result = run_forecast(workspace, graph)
    assert result.events == 2 and result.events_capped and result.runs == 2


# --- the endpoint ------------------------------------------------------------------------------


@pytest.fixture
def journey(workspace, templates):
    graph = one_send("order.placed", "whatsapp", "dispatch_whatsapp", "service")
    return journey_create(workspace=workspace, name="Forecast me", graph=graph)


def test_the_forecast_panel_shows_counts_per_node_channel_and_blocks(
    client_as, journey, make_customer
):
    stored(make_customer(), "order.placed", at_ist(1, 11), order_id="O1")
    stored(make_customer(consent=("sms",)), "order.placed", at_ist(1, 12), order_id="O2")
    response = client_as("viewer").get(
        f"/journeys/{journey.pk}/builder/forecast/?days=3&assume=read", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<td class="num" data-testid="reach-send">2</td>' in html
    assert '<td class="num" data-testid="messages-whatsapp">1</td>' in html
    assert '<td class="num" data-testid="blocked-consent">1</td>' in html
    expected = cost(journey.workspace, "whatsapp", "utility")
    assert f"₹{expected:.2f}" in html
    assert 'id="forecast-reach"' in html
    assert "forecast-capped" not in html


def test_the_forecast_form_opens_without_running(client_as, journey):
    response = client_as("marketing").get(f"/journeys/{journey.pk}/builder/forecast/")
    assert response.status_code == 200
    assert "forecast-result" not in response.content.decode()


@pytest.mark.parametrize("days", ["0", "31", "seven", "-2"])
def test_days_outside_1_to_30_are_refused_naming_the_field(client_as, journey, days):
    response = client_as("marketing").get(
        f"/journeys/{journey.pk}/builder/forecast/?days={days}", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="days"' in html and "choose a whole number from 1 to 30" in html


def test_a_capped_forecast_says_so_in_the_panel(client_as, journey, make_customer, monkeypatch):
    monkeypatch.setattr(forecasting, "MAX_CUSTOMERS", 1)
    stored(make_customer(), "order.placed", at_ist(1, 11), order_id="O1")
    stored(make_customer(), "order.placed", at_ist(1, 12), order_id="O2")
    html = (
        client_as("marketing")
        .get(f"/journeys/{journey.pk}/builder/forecast/?days=7", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert 'data-testid="forecast-capped"' in html
    assert "only the first 1 customers" in html


def test_a_segment_trigger_cannot_be_replayed_and_the_panel_says_why(client_as, workspace):
    graph = {
        "format": 1,
        "nodes": [
            {"id": "trigger", "kind": "trigger.segment", "config": {}},
            {"id": "end", "kind": "exit", "config": {}},
        ],
        "edges": [{"from": "trigger", "port": "out", "to": "end"}],
    }
    journey = journey_create(workspace=workspace, name="Segment", graph=graph)
    response = client_as("marketing").get(
        f"/journeys/{journey.pk}/builder/forecast/?days=7", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "segment" in response.content.decode()


def test_another_workspace_cannot_forecast_this_journey(client_as, other_workspace):
    theirs = journey_create(workspace=other_workspace, name="Theirs")
    response = client_as("admin").get(f"/journeys/{theirs.pk}/builder/forecast/?days=7")
    assert response.status_code == 404


def test_templates_exist_for_the_forecast_scenarios(workspace, templates):
    for key in ("dispatch_whatsapp", "return10_promo_sms", "payment_reminder_sms"):
        assert template_get_by_key(workspace=workspace, key=key) is not None
