"""The builder's live overlay (per-node counts, who waits where and why), the journey settings
form, and the way from the builder to moving running customers."""

from __future__ import annotations

import copy
from html import unescape

import pytest

from journeys.models import Journey
from journeys.services import journey_create, journey_publish
from tests.journeys.conftest import send_event
from tests.journeys.test_engine_db import waits

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_journey(workspace, clock, engine_sync):
    journey = journey_create(workspace=workspace, name="Waits", graph=waits())
    journey_publish(journey=journey, note="v1")
    journey.refresh_from_db()
    return journey


def test_live_counts_follow_the_engine_per_node_and_port(client_as, live_journey, make_customer):
    client = client_as("viewer")
    empty = client.get(f"/journeys/{live_journey.pk}/builder/live/?format=json").json()
    assert empty["live"] is True and empty["nodes"] == {}
    first, second = make_customer(), make_customer()
    send_event(first, "go", ref="R1")
    send_event(second, "go", ref="R2")
    counts = client.get(f"/journeys/{live_journey.pk}/builder/live/?format=json").json()
    assert counts["nodes"]["trigger"] == {"entered": 2, "here": 0, "ports": {"out": 2}}
    assert counts["nodes"]["pause1"] == {"entered": 2, "here": 2, "ports": {}}
    assert counts["totals"] == {"enrolled": 2, "open": 2}


def test_the_live_summary_is_an_htmx_panel_subscribed_to_the_journey_topic(
    client_as, live_journey, make_customer
):
    send_event(make_customer(), "go", ref="R1")
    response = client_as("marketing").get(
        f"/journeys/{live_journey.pk}/builder/live/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert f'data-live-topic="journey:{live_journey.pk}"' in html
    assert 'hx-trigger="live"' in html
    assert '<strong data-testid="live-open">1</strong>' in html
    assert "<html" not in html


def test_the_builder_page_of_a_live_journey_carries_counts_and_the_live_tab(
    client_as, live_journey, make_customer
):
    send_event(make_customer(), "go", ref="R1")
    page = client_as("marketing").get(f"/journeys/{live_journey.pk}/builder/")
    data = page.context["builder_data"]
    assert data["live"]["nodes"]["pause1"]["here"] == 1
    assert data["live_topic"] == f"journey:{live_journey.pk}"
    assert data["urls"]["live"].endswith("/builder/live/?format=json")
    assert 'data-tab="live"' in page.content.decode()


def test_a_draft_never_published_has_no_live_overlay(client_as, workspace):
    journey = journey_create(workspace=workspace, name="Draft", graph=waits())
    page = client_as("marketing").get(f"/journeys/{journey.pk}/builder/")
    assert page.context["builder_data"]["live"] is None
    assert 'data-tab="live"' not in page.content.decode()
    counts = client_as("marketing").get(f"/journeys/{journey.pk}/builder/live/?format=json")
    assert counts.json() == {
        "live": False, "status": "draft", "version": None, "nodes": {},
        "totals": {"enrolled": 0, "open": 0},
    }  # fmt: skip


def test_clicking_a_node_lists_who_waits_there_and_why_with_links(
    client_as, live_journey, make_customer
):
    waiting = make_customer()
    send_event(waiting, "go", ref="R1")
    response = client_as("support").get(
        f"/journeys/{live_journey.pk}/builder/live/nodes/pause1/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span data-testid="waiting-total">1</span>' in html
    assert f'href="/customers/{waiting.pk}/"' in html
    assert waiting.name in html
    run = live_journey.runs.get()
    last = run.steps.order_by("-left_at", "-id").first()
    text = unescape(html)
    assert f"{last.node_id}: {last.reason}" in text  # how they got here: the last step
    assert f"Waiting for: {run.reason}" in text  # what the wait node holds them for


def test_nobody_waits_at_a_node_the_runs_passed(client_as, live_journey, make_customer):
    send_event(make_customer(), "go", ref="R1")
    response = client_as("viewer").get(f"/journeys/{live_journey.pk}/builder/live/nodes/trigger/")
    assert response.status_code == 200  # the full page, for a direct link
    assert "Nobody waits here now." in response.content.decode()


def test_another_workspace_cannot_read_the_live_counts(client_as, other_workspace):
    theirs = journey_create(workspace=other_workspace, name="Theirs", graph=waits())
    assert client_as("admin").get(f"/journeys/{theirs.pk}/builder/live/").status_code == 404
    url = f"/journeys/{theirs.pk}/builder/live/nodes/trigger/"
    assert client_as("admin").get(url).status_code == 404


# --- journey settings --------------------------------------------------------------------------


def settings_form(journey: Journey, **changes) -> dict:
    form = {
        "revision": str(journey.draft_revision),
        "goal.event": "paid",
        "goal.match_correlation": "on",
        "goal.then": "complete",
        "goal.goto": "",
        "goal.when": "",
        "entry.correlation_key": "ref",
        "entry.reentry": "cooldown",
        "entry.cooldown_hours": "12",
        "entry.one_active_per_key": "on",
        "holdout_percent": "10",
        "priority": "5",
        "suppresses.promotional": "on",
        "exit_conditions.0.event": "cancelled",
        "exit_conditions.0.reason": "order cancelled",
        "exit_conditions.0.match_correlation": "on",
        "exit_conditions.0.when": "",
        "exit_conditions.1.event": "",
        "exit_conditions.1.reason": "",
        "exit_conditions.1.when": "",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


@pytest.fixture
def draft(workspace):
    return journey_create(workspace=workspace, name="Waits", graph=waits())


def post_settings(client, journey, **changes):
    return client.post(
        f"/journeys/{journey.pk}/builder/journey-settings/",
        settings_form(journey, **changes),
        HTTP_HX_REQUEST="true",
    )


def test_settings_form_shows_the_drafts_settings(client_as, draft):
    html = client_as("viewer").get(f"/journeys/{draft.pk}/builder/journey-settings/").content
    html = html.decode()
    assert 'name="goal.event" value="paid"' in html
    assert 'name="entry.correlation_key" value="ref"' in html
    assert 'name="exit_conditions.0.event" value="cancelled"' in html
    assert 'name="exit_conditions.1.event" value=""' in html  # a blank row to add one
    assert "Your role can read these settings" in html


def test_saving_settings_writes_them_into_the_draft_and_tells_the_canvas(client_as, draft):
    response = post_settings(
        client_as("marketing"),
        draft,
        **{"goal.when": '{"path": "event.amount", "op": "gte", "value": 100}'},
    )
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.draft_revision == 1
    assert draft.draft["goal"] == {
        "event": "paid", "match_correlation": True, "then": "complete", "goto": None,
        "when": {"path": "event.amount", "op": "gte", "value": 100},
    }  # fmt: skip
    assert draft.draft["entry"] == {
        "reentry": "cooldown", "cooldown_hours": 12, "one_active_per_key": True,
        "correlation_key": "ref",
    }  # fmt: skip
    assert draft.draft["holdout_percent"] == 10 and draft.draft["priority"] == 5
    assert draft.draft["suppresses"] == ["promotional"]
    assert draft.draft["exit_conditions"] == [
        {"event": "cancelled", "match_correlation": True, "when": None, "reason": "order cancelled"}
    ]
    assert [n["id"] for n in draft.draft["nodes"]][0] == "trigger"  # the graph is untouched
    assert '"builder:settings-saved"' in response["HX-Trigger"]
    assert '"revision": 1' in response["HX-Trigger"]
    assert "Settings saved into the draft." in response.content.decode()


def test_an_empty_goal_event_removes_the_goal(client_as, draft):
    assert post_settings(client_as("marketing"), draft, **{"goal.event": ""}).status_code == 200
    draft.refresh_from_db()
    assert draft.draft["goal"] is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"holdout_percent": "80"}, "holdout_percent", "Holdout %: enter a number from 0 to 50"),
        ({"holdout_percent": "ten"}, "holdout_percent", "Holdout %: enter a number"),
        ({"entry.cooldown_hours": "0"}, "entry.cooldown_hours", "enter at least 1"),
        ({"goal.then": "goto", "goal.goto": "nowhere"}, "goal.goto", "pick the node"),
        ({"goal.when": "{oops"}, "goal.when", "Goal condition: not valid JSON"),
        ({"exit_conditions.1.reason": "why"}, "exit_conditions.1.event", "name the event"),
        ({"priority": "1.5"}, "priority", "Priority: enter a number"),
    ],
)
def test_settings_errors_name_the_field_and_nothing_is_saved(
    client_as, draft, changes, field, words
):
    before = copy.deepcopy(draft.draft)
    response = post_settings(client_as("marketing"), draft, **changes)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-field="{field}"' in html
    assert words in html
    assert "Not saved" in html
    draft.refresh_from_db()
    assert draft.draft == before and draft.draft_revision == 0


def test_settings_the_format_refuses_land_on_their_field(client_as, draft):
    response = post_settings(
        client_as("marketing"), draft, **{"goal.when": '{"path": "x", "op": "nope"}'}
    )
    assert response.status_code == 400
    assert 'data-field="goal.when' in response.content.decode()


def test_saved_settings_show_the_engines_checks_on_their_field(client_as, draft, make_customer):
    send_event(make_customer(), "go", ref="R1")  # the trigger is known to carry only "ref"
    response = post_settings(client_as("marketing"), draft, **{"entry.correlation_key": "order_no"})
    assert response.status_code == 200  # saved: the Problems panel blocks publishing, not saving
    html = response.content.decode()
    assert '<li class="sev-error" data-field="entry.correlation_key">' in html
    assert "the trigger event has no property &#x27;order_no&#x27;" in html
    draft.refresh_from_db()
    assert draft.draft["entry"]["correlation_key"] == "order_no"


def test_a_goal_can_jump_to_a_node_of_the_draft(client_as, draft):
    response = post_settings(
        client_as("marketing"), draft, **{"goal.then": "goto", "goal.goto": "end"}
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.draft["goal"]["then"], draft.draft["goal"]["goto"]) == ("goto", "end")


def test_a_stale_settings_form_is_a_conflict(client_as, draft):
    client = client_as("marketing")
    assert post_settings(client, draft).status_code == 200
    stale = post_settings(client, draft, revision="0", priority="9")
    assert stale.status_code == 409
    assert "reload" in stale.content.decode()
    draft.refresh_from_db()
    assert draft.draft["priority"] == 5


def test_viewers_and_support_cannot_change_settings(client_as, draft):
    for role in ("viewer", "support"):
        assert post_settings(client_as(role), draft).status_code == 403
    draft.refresh_from_db()
    assert draft.draft_revision == 0


# --- moving running customers ------------------------------------------------------------------


def test_the_builder_offers_moving_running_customers_once_published(client_as, live_journey):
    page = client_as("operations").get(f"/journeys/{live_journey.pk}/builder/").content.decode()
    assert f'href="/journeys/{live_journey.pk}/publish-move/"' in page
    versions = client_as("operations").get(f"/journeys/{live_journey.pk}/builder/versions/")
    assert f'href="/journeys/{live_journey.pk}/publish-move/"' in versions.content.decode()


def test_a_draft_never_published_has_nobody_to_move(client_as, draft):
    page = client_as("operations").get(f"/journeys/{draft.pk}/builder/").content.decode()
    assert "publish-move" not in page
