"""Server side of the builder: autosave with revisions, the inspector, previews, permissions."""

from __future__ import annotations

import copy
import json

import pytest

from journeys.engine.seeds import payment_reminder_journey
from journeys.models import Journey
from journeys.services import journey_create


@pytest.fixture
def journey(workspace, templates):
    return journey_create(
        workspace=workspace, name="Payment reminder", graph=payment_reminder_journey()
    )


def save(client, journey, graph, revision):
    body = json.dumps({"graph": graph, "revision": revision})
    return client.post(
        f"/journeys/{journey.pk}/builder/save/", body, content_type="application/json"
    )


def test_the_builder_page_carries_the_draft_its_palette_and_problems(client_as, journey):
    response = client_as("marketing").get(f"/journeys/{journey.pk}/builder/")
    assert response.status_code == 200
    data = json.loads(
        response.context["builder_data"] and json.dumps(response.context["builder_data"])
    )
    assert data["revision"] == journey.draft_revision
    assert {n["id"] for n in data["graph"]["nodes"]} >= {"trigger", "whatsapp", "sms"}
    assert [g["group"] for g in data["palette"]][:3] == ["triggers", "messages", "waits"]
    assert data["nodes"]["whatsapp"]["summary"].startswith("WhatsApp")
    assert [p["name"] for p in data["nodes"]["whatsapp"]["ports"]] == ["sent", "skipped", "failed"]
    assert data["can_edit"] is True


def test_another_workspace_cannot_open_the_builder(client_as, journey, other_workspace):
    other = journey_create(workspace=other_workspace, name="Theirs")
    assert client_as("admin").get(f"/journeys/{other.pk}/builder/").status_code == 404


def test_autosave_bumps_the_revision_and_a_reload_shows_the_same_graph(client_as, journey):
    client = client_as("marketing")
    graph = copy.deepcopy(journey.draft)
    graph["nodes"][1]["position"] = {"x": 999, "y": 111}
    response = save(client, journey, graph, journey.draft_revision)
    assert response.status_code == 200, response.content
    assert response.json()["revision"] == journey.draft_revision + 1
    page = client.get(f"/journeys/{journey.pk}/builder/")
    nodes = {n["id"]: n for n in page.context["builder_data"]["graph"]["nodes"]}
    assert nodes[graph["nodes"][1]["id"]]["position"] == {"x": 999.0, "y": 111.0}


def test_a_stale_revision_is_a_409_conflict_and_nothing_is_overwritten(client_as, journey):
    client = client_as("marketing")
    first = copy.deepcopy(journey.draft)
    first["nodes"][0]["label"] = "first tab"
    assert save(client, journey, first, 0).status_code == 200
    second = copy.deepcopy(journey.draft)
    second["nodes"][0]["label"] = "second tab"
    response = save(client, journey, second, 0)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "reload" in response.json()["detail"]
    journey.refresh_from_db()
    assert journey.draft["nodes"][0]["label"] == "first tab"


def test_the_save_answers_problems_and_ports_derived_from_config(client_as, journey):
    graph = copy.deepcopy(journey.draft)
    voice = next(n for n in graph["nodes"] if n["id"] == "voice")
    voice["config"]["keys"] = {"1": "pay now", "2": "talk", "3": "call me later"}
    graph["edges"] = [e for e in graph["edges"] if e["from"] != "wait_read"]
    body = save(client_as("marketing"), journey, graph, 0).json()
    assert [p["name"] for p in body["nodes"]["voice"]["ports"]] == [
        "1",
        "2",
        "3",
        "no_key",
        "no_answer",
    ]
    codes = {(p["node_id"], p["code"]) for p in body["problems"]}
    assert ("wait_read", "dangling_port") in codes
    assert ("voice", "dangling_port") in codes
    assert body["nodes"]["wait_read"]["errors"] >= 2


def test_a_graph_that_is_not_in_the_format_is_refused_naming_the_field(client_as, journey):
    graph = copy.deepcopy(journey.draft)
    graph["nodes"][0]["id"] = "9 bad id"
    response = save(client_as("marketing"), journey, graph, 0)
    assert response.status_code == 400
    assert "nodes.0.id" in json.dumps(response.json()["fields"])
    assert Journey.objects.get(pk=journey.pk).draft_revision == 0


def test_a_malformed_body_is_a_400_that_says_what_to_send(client_as, journey):
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/save/", "nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert "revision" in response.json()["detail"]


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_viewers_cannot_edit(client_as, journey, role):
    client = client_as(role)
    assert save(client, journey, journey.draft, 0).status_code == 403
    response = client.post(f"/journeys/{journey.pk}/builder/nodes/sms/", {"revision": 0})
    assert response.status_code == 403
    page = client.get(f"/journeys/{journey.pk}/builder/")
    assert page.status_code == 200
    assert page.context["builder_data"]["can_edit"] is False


def test_the_inspector_form_uses_schema_titles_and_a_template_picker(client_as, journey):
    response = client_as("marketing").get(
        f"/journeys/{journey.pk}/builder/nodes/whatsapp/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Respect quiet hours" in html and "Calling hours" in html
    assert 'name="cfg.template"' in html
    assert 'value="payment_reminder_whatsapp" selected' in html
    assert 'value="payment_reminder_sms"' not in html  # only WhatsApp templates are offered
    assert 'id="template-preview"' in html


def test_saving_the_inspector_updates_the_node_in_the_draft(client_as, journey):
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/nodes/wait_read/",
        {
            "revision": 0,
            "label": "Read within a day?",
            "cfg.outcome": "read",
            "cfg.hours": "24",
            "cfg.days": "0",
            "cfg.minutes": "0",
            "cfg.match_correlation": "on",
            "cfg.merge_properties": "on",
            "cfg.timeout_reason": "fallback: unread",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content.decode()[:500]
    trigger = json.loads(response["HX-Trigger"])["builder:node-saved"]
    assert trigger["revision"] == 1
    journey.refresh_from_db()
    node = next(n for n in journey.draft["nodes"] if n["id"] == "wait_read")
    assert node["label"] == "Read within a day?"
    assert node["config"]["hours"] == 24 and node["config"]["timeout_reason"] == "fallback: unread"


def test_inspector_errors_name_the_field_and_save_nothing(client_as, journey):
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/nodes/sms/",
        {
            "revision": 0,
            "label": "SMS",
            "cfg.channel": "sms",
            "cfg.template": "",
            "cfg.purpose": "service",
            "cfg.calling_window.start": "08:00",
            "cfg.calling_window.end": "",
            "cfg.variables": "amount",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert '<p class="error" data-field="variables">Variables: line 1: write one' in html
    journey.refresh_from_db()
    assert journey.draft_revision == 0


def test_inspector_model_errors_land_on_their_field(client_as, journey):
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/nodes/sms/",
        {"revision": 0, "cfg.channel": "sms", "cfg.template": "", "cfg.purpose": "service"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert '<p class="error" data-field="template">template: choose the template to send' in html


def test_an_inspector_save_on_a_stale_revision_is_a_conflict(client_as, journey):
    client = client_as("marketing")
    assert save(client, journey, journey.draft, 0).status_code == 200
    response = client.post(
        f"/journeys/{journey.pk}/builder/nodes/sms/",
        {
            "revision": 0,
            "cfg.channel": "sms",
            "cfg.template": "payment_reminder_sms",
            "cfg.purpose": "service",
        },
    )
    assert response.status_code == 409
    assert "reload" in response.content.decode()


def test_the_inspector_renders_a_full_page_without_htmx(client_as, journey):
    response = client_as("marketing").get(f"/journeys/{journey.pk}/builder/nodes/voice/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="canvas"' in html and "Keypad menu" in html


def test_an_unknown_node_is_a_404(client_as, journey):
    assert (
        client_as("marketing").get(f"/journeys/{journey.pk}/builder/nodes/nope/").status_code == 404
    )


def test_the_template_preview_renders_the_message(client_as, journey):
    response = client_as("marketing").get(
        f"/journeys/{journey.pk}/builder/preview/?cfg.template=payment_reminder_sms",
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="bubble channel-sms"' in html and "segment" in html


def test_variable_hints_come_from_the_trigger_events_properties(client_as, journey, make_customer):
    from tests.journeys.conftest import send_event

    send_event(make_customer(), "payment.due", loan_id="L9", amount="4500", due_date="2026-05-01")
    response = client_as("marketing").get(
        f"/journeys/{journey.pk}/builder/nodes/sms/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "From the trigger <code>payment.due</code>" in html
    assert all(f"context.{name}" in html for name in ("loan_id", "amount", "due_date"))
