"""The journeys API (import/export round trip, validation errors, controls), the console screens,
permissions and workspace isolation."""

import pytest

from journeys.engine.seeds import payment_reminder_journey
from journeys.models import Journey, Run
from journeys.services import journey_create, journey_publish
from tests.journeys.conftest import send_event
from tests.journeys.test_engine_db import waits

pytestmark = pytest.mark.django_db


def test_import_then_export_gives_the_same_json(api, templates, clock):
    graph = payment_reminder_journey()
    response = api.post("/api/v1/journeys", {"name": "Reminder", "graph": graph, "publish": True})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "live" and body["current_version"] == 1
    exported = api.get(f"/api/v1/journeys/{body['id']}/versions/1").json()
    again = api.post("/api/v1/journeys", {"name": "Copy", "graph": exported}).json()
    assert again["draft"] == exported
    listing = api.get("/api/v1/journeys").json()["journeys"]
    assert {j["name"] for j in listing} == {"Reminder", "Copy"}


def test_import_errors_name_the_node_and_field(api, templates, clock):
    graph = payment_reminder_journey()
    graph["nodes"][1]["config"]["template"] = "missing_template"
    response = api.post("/api/v1/journeys", {"name": "Bad", "graph": graph, "publish": True})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "graph.nodes.whatsapp.template" in body["fields"]
    assert not Journey.objects.filter(name="Bad").exists()


def test_a_malformed_graph_is_refused_with_the_format_problem(api, workspace):
    response = api.post("/api/v1/journeys", {"name": "X", "graph": {"format": 2, "nodes": []}})
    assert response.status_code == 400
    assert any("format" in name for name in response.json()["fields"])


def test_pause_resume_and_stop_through_the_api(api, workspace, clock, engine_sync):
    journey = journey_create(workspace=workspace, name="W", graph=waits())
    assert (
        api.post(f"/api/v1/journeys/{journey.pk}/publish", {"note": "go"}).json()["status"]
        == "live"
    )
    assert api.post(f"/api/v1/journeys/{journey.pk}/pause").json()["status"] == "paused"
    assert api.post(f"/api/v1/journeys/{journey.pk}/pause").status_code == 409
    assert api.post(f"/api/v1/journeys/{journey.pk}/resume").json()["status"] == "live"
    assert api.post(f"/api/v1/journeys/{journey.pk}/stop").json()["status"] == "archived"


def test_another_workspaces_journey_is_invisible(api, other_workspace, clock):
    theirs = journey_create(workspace=other_workspace, name="Theirs", graph=waits())
    assert api.get(f"/api/v1/journeys/{theirs.pk}").status_code == 404
    assert api.post(f"/api/v1/journeys/{theirs.pk}/publish").status_code == 404
    assert api.get("/api/v1/journeys").json()["journeys"] == []


@pytest.fixture
def running(workspace, make_customer, clock, engine_sync):
    journey = journey_create(workspace=workspace, name="Waits", graph=waits())
    journey_publish(journey=journey)
    customer = make_customer()
    send_event(customer, "go", ref="R1")
    return journey, customer, Run.objects.get(journey=journey)


def test_the_console_lists_journeys_and_shows_nodes_counters_and_runs(client_as, running):
    journey, customer, run = running
    client = client_as("viewer")
    page = client.get("/journeys/").content.decode()
    assert "Waits" in page and "Live" in page
    detail = client.get(f"/journeys/{journey.pk}/").content.decode()
    assert 'data-node="pause1"' in detail and f'data-live-topic="journey:{journey.pk}"' in detail
    assert "Publish draft" not in detail
    run_page = client.get(f"/journeys/runs/{run.pk}/").content.decode()
    assert "waiting 1h" in run_page or "pause1" in run_page
    customer_page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f"/journeys/runs/{run.pk}/" in customer_page


def test_only_publishers_may_pause_and_stop(client_as, running):
    journey = running[0]
    assert client_as("marketing").post(f"/journeys/{journey.pk}/pause/").status_code == 403
    assert client_as("operations").post(f"/journeys/{journey.pk}/pause/").status_code == 302
    journey.refresh_from_db()
    assert journey.status == "paused"


def test_the_console_hides_other_workspaces_journeys_and_runs(
    client_as, other_workspace, make_customer, clock, engine_sync
):
    theirs = journey_create(workspace=other_workspace, name="Theirs", graph=waits())
    journey_publish(journey=theirs)
    send_event(make_customer(ws=other_workspace), "go", ref="X")
    run = Run.objects.get(journey=theirs)
    client = client_as("admin")
    assert client.get(f"/journeys/{theirs.pk}/").status_code == 404
    assert client.get(f"/journeys/runs/{run.pk}/").status_code == 404
    assert "Theirs" not in client.get("/journeys/").content.decode()


def test_journey_steps_are_on_the_customer_timeline(running):
    from console.timeline import timeline_entries

    _, customer, _ = running
    entries, _ = timeline_entries(customer, kinds={"journey_step"})
    assert [e.data["node_id"] for e in entries] == ["trigger"]


def test_the_live_topic_check_allows_only_own_journeys(running, other_workspace):
    from console.consumers import TOPIC_CHECKS

    journey = running[0]
    assert TOPIC_CHECKS["journey"](journey.workspace_id, str(journey.pk))
    assert not TOPIC_CHECKS["journey"](other_workspace.pk, str(journey.pk))
