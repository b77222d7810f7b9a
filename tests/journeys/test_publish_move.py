"""Publishing with moves from the console: counts first, the operator confirms, runs move."""

import pytest

from journeys.models import Journey, Run
from tests.journeys.test_engine_db import go, live, waits  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(live, make_customer):  # noqa: F811
    journey = live()
    for _ in range(3):
        go(make_customer())
    journey.draft = waits(hours=3)
    journey.save()
    return journey


def test_the_page_shows_where_customers_wait_and_the_same_kind_targets(running, client_as):
    html = client_as("operations").get(f"/journeys/{running.id}/publish-move/").content.decode()
    assert "pause1" in html and '<td class="num">3</td>' in html
    assert '<option value="pause1"' in html
    assert '<option value="wait_done"' not in html.split('id="map_pause1"')[1].split("</select>")[0]


def test_preview_counts_then_confirm_publishes_and_moves(running, client_as):
    client = client_as("operations")
    preview = client.post(f"/journeys/{running.id}/publish-move/", {"map_pause1": "pause1"})
    assert preview.status_code == 200
    assert 'data-moving="pause1">3<' in preview.content.decode()
    assert Journey.objects.get(pk=running.pk).current_version == 1  # nothing published yet
    done = client.post(
        f"/journeys/{running.id}/publish-move/",
        {"map_pause1": "pause1", "confirm": "yes", "note": "longer wait"},
    )
    assert done.status_code == 302
    running.refresh_from_db()
    assert running.current_version == 2
    assert set(Run.objects.filter(journey=running).values_list("version__number", flat=True)) == {2}


def test_without_a_mapping_running_customers_stay_on_their_version(running, client_as):
    client_as("operations").post(f"/journeys/{running.id}/publish-move/", {"confirm": "yes"})
    running.refresh_from_db()
    assert running.current_version == 2
    assert set(Run.objects.filter(journey=running).values_list("version__number", flat=True)) == {1}


def test_a_target_of_another_kind_is_refused_naming_the_node(running, client_as):
    response = client_as("operations").post(
        f"/journeys/{running.id}/publish-move/", {"map_pause1": "wait_done", "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "is not a wait node of the draft" in response.content.decode()
    running.refresh_from_db()
    assert running.current_version == 1


@pytest.mark.parametrize("role", ["marketing", "viewer", "support"])
def test_only_roles_that_publish_may_move(running, client_as, role):
    assert client_as(role).get(f"/journeys/{running.id}/publish-move/").status_code == 403
