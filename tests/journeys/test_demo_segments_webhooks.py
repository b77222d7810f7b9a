"""Demo seeding and traffic, segment enrolment in chunks, date triggers, the events listener
(one task per batch), schedules, and the webhook caller's address checks."""

import random

import pytest

from console.schedules import schedules_ensure
from console.services import events_ingest
from journeys.demo import demo_journeys_seed
from journeys.models import EngineSettings, EnrolmentJob, Journey, Run, WebhookDelivery
from journeys.services import journey_create, journey_publish
from journeys.traffic import traffic_generate
from journeys.webhooks import WebhookRefused, address_check, webhook_call

pytestmark = pytest.mark.django_db


def test_the_demo_seeder_publishes_the_three_seeds_once_with_an_accelerated_clock(
    workspace, clock, engine_sync
):
    from channels_app.tmpl.demo import demo_templates_seed

    demo_templates_seed(workspace)
    demo_journeys_seed(workspace)
    demo_journeys_seed(workspace)
    journeys = Journey.objects.filter(workspace=workspace)
    assert journeys.count() == 3 and {j.status for j in journeys} == {"live"}
    settings = EngineSettings.objects.get(workspace=workspace)
    assert settings.clock_speed > 1 and settings.traffic_enabled


def test_traffic_creates_orders_and_loans_that_enrol_runs(
    workspace, make_customer, clock, engine_sync
):
    from channels_app.tmpl.demo import demo_templates_seed

    demo_templates_seed(workspace)
    demo_journeys_seed(workspace)
    for _ in range(10):
        make_customer()
    assert traffic_generate(workspace, 10, random.Random(1)) == 10
    assert Run.objects.filter(workspace=workspace).count() == 10


def test_the_events_listener_queues_one_task_per_batch(workspace, make_customer, engine_sync):
    customer = make_customer()
    ref = {"external_id": customer.external_id}
    items = [{"event_id": f"e{n}", "name": "order.placed", "customer": ref,
              "properties": {"order_id": str(n)}} for n in range(5)]  # fmt: skip
    engine_sync.clear()
    events_ingest(workspace=workspace, items=items)
    assert [func for func, _ in engine_sync] == ["journeys.tasks.events_process_task"]
    assert len(engine_sync[0][1][0]) == 5


def segment_graph():
    return {
        "format": 1,
        "nodes": [
            {"id": "trigger", "kind": "trigger.segment",
             "config": {"filter": {"path": "attributes.city", "op": "eq", "value": "Pune"}}},
            {"id": "end", "kind": "exit", "config": {}},
        ],
        "edges": [{"from": "trigger", "port": "out", "to": "end"}],
    }  # fmt: skip


def test_segment_enrolment_runs_in_chunks_with_progress(
    workspace, make_customer, clock, engine_sync, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("journeys.services.segments.CHUNK", 3)
    for n in range(7):
        make_customer(city="Pune" if n % 2 == 0 else "Delhi")
    journey = journey_create(workspace=workspace, name="Pune", graph=segment_graph())
    with django_capture_on_commit_callbacks(execute=True):
        journey_publish(journey=journey)
    job = EnrolmentJob.objects.get(journey=journey)
    assert (job.status, job.total, job.scanned, job.enrolled) == ("done", 7, 7, 4)
    assert Run.objects.filter(journey=journey, status="exited").count() == 4


def test_the_date_sweep_enrols_once_per_date_and_the_trigger_waits(
    workspace, make_customer, clock, engine_sync
):
    from journeys.services import date_triggers_sweep

    graph = segment_graph()
    graph["nodes"][0] = {
        "id": "trigger",
        "kind": "trigger.date",
        "config": {"name": "emi_due_date", "offset_days": -3, "at": "10:00"},
    }
    make_customer(emi_due_date="2099-01-10")
    make_customer()
    journey = journey_create(workspace=workspace, name="EMI", graph=graph)
    journey_publish(journey=journey)
    assert date_triggers_sweep() == 1
    assert date_triggers_sweep() == 0
    run = Run.objects.get(journey=journey)
    assert run.node_id == "trigger" and run.wake_at.date().isoformat() == "2099-01-07"


def test_every_app_declares_its_schedules_and_they_are_created_once_and_kept_current(db):
    from django_q.models import Schedule

    Schedule.objects.all().delete()
    assert schedules_ensure() == 5  # due runs, date triggers, traffic, outbox sweep, rollups
    Schedule.objects.filter(name="journeys: date triggers").update(minutes=5, func="old.path")
    assert schedules_ensure() == 0
    assert Schedule.objects.count() == 5
    hourly = Schedule.objects.get(name="journeys: date triggers")
    assert (hourly.minutes, hourly.func) == (60, "journeys.tasks.date_triggers_task")
    names = set(Schedule.objects.values_list("name", flat=True))
    assert names == {
        "journeys: due runs",
        "journeys: date triggers",
        "journeys: demo traffic",
        "outbox sweep",
        "analytics: rollups",
    }


def test_webhooks_refuse_private_addresses_and_hosts_off_the_allow_list(monkeypatch):
    with pytest.raises(WebhookRefused):
        address_check("localhost")
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.5", 443))])
    with pytest.raises(WebhookRefused, match="non-public"):
        address_check("hooks.example.com")
    row = WebhookDelivery(
        url="https://hooks.example.com/x", method="POST", body={}, timeout_seconds=1
    )
    ok, code, reason = webhook_call(row, ["hooks.example.com"])
    assert not ok and "non-public" in reason
    ok, code, reason = webhook_call(row, ["other.example.com"])
    assert not ok and "allow-list" in reason
