"""Publishing from the builder, the approval rule, controls, duplicate, gallery and versions."""

from __future__ import annotations

import copy
import json

import pytest

from journeys.builder.models import BuilderSettings, PublishRequest
from journeys.engine.seeds import payment_reminder_journey
from journeys.models import Journey
from journeys.services import journey_create


@pytest.fixture
def journey(workspace, templates):
    return journey_create(
        workspace=workspace, name="Payment reminder", graph=payment_reminder_journey()
    )


@pytest.fixture
def approval(workspace):
    return BuilderSettings.objects.create(workspace=workspace, require_approval=True)


def publish(client, journey, revision=None, note="first"):
    revision = journey.draft_revision if revision is None else revision
    return client.post(
        f"/journeys/{journey.pk}/builder/publish/", {"revision": revision, "note": note}
    )


def test_operations_publishes_the_draft_with_a_note(client_as, journey):
    response = publish(client_as("operations"), journey, note="first cut")
    assert response.status_code == 302
    journey.refresh_from_db()
    assert journey.status == "live" and journey.current_version == 1
    assert journey.versions.get().note == "first cut"


def test_marketing_cannot_publish(client_as, journey):
    assert publish(client_as("marketing"), journey).status_code == 403
    assert not journey.versions.exists()


def test_marketing_cannot_publish_when_the_workspace_requires_approval(
    client_as, journey, approval
):
    assert publish(client_as("marketing"), journey).status_code == 403
    page = client_as("marketing").get(f"/journeys/{journey.pk}/builder/").content.decode()
    assert "Request publication" in page and 'data-testid="publish"' not in page


def test_publishing_a_draft_that_changed_since_the_page_was_read_is_refused(client_as, journey):
    response = publish(client_as("operations"), journey, revision=journey.draft_revision + 5)
    assert response.status_code == 302
    assert not journey.versions.exists()


def test_a_draft_with_errors_is_not_published(client_as, journey):
    graph = copy.deepcopy(journey.draft)
    graph["edges"] = [e for e in graph["edges"] if e["from"] != "trigger"]
    Journey.objects.filter(pk=journey.pk).update(draft=graph)
    client = client_as("operations")
    response = publish(client, journey)
    assert response.status_code == 302
    assert not journey.versions.exists()
    page = client.get(f"/journeys/{journey.pk}/builder/").content.decode()
    assert "Not published: fix the" in page


def test_marketing_requests_and_operations_approves_which_publishes(client_as, journey, approval):
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/request/", {"note": "ready for Diwali"}
    )
    assert response.status_code == 302
    request = PublishRequest.objects.get(journey=journey)
    assert request.status == "pending" and request.revision == journey.draft_revision
    ops = client_as("operations")
    assert "ready for Diwali" in ops.get(f"/journeys/{journey.pk}/builder/").content.decode()
    ops.post(f"/journeys/{journey.pk}/builder/requests/{request.pk}/", {"decision": "approve"})
    request.refresh_from_db()
    assert request.status == "approved" and request.version.number == 1
    assert journey.versions.get().note.startswith("ready for Diwali")


def test_rejecting_needs_a_comment_and_keeps_it(client_as, journey, approval, members):
    request = PublishRequest.objects.create(
        workspace=journey.workspace, journey=journey, revision=0, requested_by=members["marketing"]
    )
    ops = client_as("operations")
    url = f"/journeys/{journey.pk}/builder/requests/{request.pk}/"
    ops.post(url, {"decision": "reject", "comment": ""})
    request.refresh_from_db()
    assert request.status == "pending"
    ops.post(url, {"decision": "reject", "comment": "use the Hindi template too"})
    request.refresh_from_db()
    assert request.status == "rejected" and request.comment == "use the Hindi template too"
    assert not journey.versions.exists()


def test_approving_after_the_draft_changed_is_refused(client_as, journey, approval, members):
    request = PublishRequest.objects.create(
        workspace=journey.workspace, journey=journey, revision=0, requested_by=members["marketing"]
    )
    Journey.objects.filter(pk=journey.pk).update(draft_revision=3)
    client_as("operations").post(
        f"/journeys/{journey.pk}/builder/requests/{request.pk}/", {"decision": "approve"}
    )
    request.refresh_from_db()
    assert request.status == "pending" and not journey.versions.exists()


def test_marketing_cannot_decide_a_request(client_as, journey, approval, members):
    request = PublishRequest.objects.create(
        workspace=journey.workspace, journey=journey, revision=0, requested_by=members["marketing"]
    )
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/requests/{request.pk}/", {"decision": "approve"}
    )
    assert response.status_code == 403


def test_only_one_request_is_pending_at_a_time(client_as, journey, approval):
    client = client_as("marketing")
    client.post(f"/journeys/{journey.pk}/builder/request/", {"note": "a"})
    client.post(f"/journeys/{journey.pk}/builder/request/", {"note": "b"})
    assert PublishRequest.objects.filter(journey=journey).count() == 1


def test_only_settings_managers_change_the_approval_rule(client_as, workspace):
    assert (
        client_as("marketing")
        .post("/journeys/builder/settings/", {"require_approval": "on"})
        .status_code
        == 403
    )
    client_as("admin").post("/journeys/builder/settings/", {"require_approval": "on"})
    assert BuilderSettings.objects.get(workspace=workspace).require_approval is True


def test_pause_resume_and_stop_call_the_engine(client_as, journey):
    ops = client_as("operations")
    publish(ops, journey)
    base = f"/journeys/{journey.pk}/builder/control/"
    ops.post(base + "pause/")
    assert Journey.objects.get(pk=journey.pk).status == "paused"
    ops.post(base + "resume/")
    assert Journey.objects.get(pk=journey.pk).status == "live"
    assert client_as("marketing").post(base + "stop/").status_code == 403
    ops.post(base + "stop/")
    assert Journey.objects.get(pk=journey.pk).status == "archived"
    assert ops.post(base + "explode/").status_code == 404


def test_duplicate_copies_the_draft_into_a_new_journey(client_as, journey):
    response = client_as("marketing").post(f"/journeys/{journey.pk}/builder/duplicate/")
    copy_ = Journey.objects.exclude(pk=journey.pk).get()
    assert response.url == f"/journeys/{copy_.pk}/builder/"
    assert (
        copy_.name == "Payment reminder (copy)" and copy_.draft["nodes"] == journey.draft["nodes"]
    )


def test_the_gallery_starts_a_draft_from_a_seed_and_new_starts_empty(client_as, workspace):
    client = client_as("marketing")
    assert (
        "Payment reminder with fallback"
        in client.get("/journeys/builder/gallery/").content.decode()
    )
    response = client.post("/journeys/builder/gallery/payment-reminder-fallback/")
    seeded = Journey.objects.get(gallery_slug="payment-reminder-fallback")
    assert response.url == f"/journeys/{seeded.pk}/builder/" and len(seeded.draft["nodes"]) == 9
    response = client.post("/journeys/builder/new/", {"name": "Blank"})
    blank = Journey.objects.get(name="Blank")
    assert blank.draft["nodes"] == [] and response.url.endswith(f"/{blank.pk}/builder/")
    assert client.post("/journeys/builder/new/", {"name": " "}).status_code == 302
    assert client_as("viewer").post("/journeys/builder/new/", {"name": "x"}).status_code == 403


def test_the_version_diff_marks_added_removed_and_changed_nodes(client_as, journey):
    ops = client_as("operations")
    publish(ops, journey)
    graph = copy.deepcopy(Journey.objects.get(pk=journey.pk).draft)
    sms = next(n for n in graph["nodes"] if n["id"] == "sms")
    sms["config"]["purpose"] = "transactional"
    sms["position"] = {"x": 1, "y": 1}
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "unpaid"] + [
        {"id": "thanks", "kind": "exit", "config": {}, "position": {"x": 0, "y": 0}, "label": ""}
    ]
    for edge in graph["edges"]:
        if edge["to"] == "unpaid":
            edge["to"] = "thanks"
    body = json.dumps({"graph": graph, "revision": 0})
    ops.post(f"/journeys/{journey.pk}/builder/save/", body, content_type="application/json")
    publish(ops, Journey.objects.get(pk=journey.pk), note="second")
    response = ops.get(f"/journeys/{journey.pk}/builder/versions/2/")
    diff = response.context["diff"]
    assert diff["added"] == ["thanks"] and diff["removed"] == ["unpaid"]
    assert set(diff["changed"]) == {"sms", "wait_after_call"}  # config; an edge now leads elsewhere
    assert "Changed: 2" in response.content.decode()
    assert client_as("viewer").get(f"/journeys/{journey.pk}/builder/versions/").status_code == 200
