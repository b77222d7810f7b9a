# ruff: noqa: F811  (pytest fixtures imported from outbox_fixtures)
"""Tables written at engine rate reference their workspace (and a run its journey) without a
database constraint (``console.models.hot_parent_key``): on PostgreSQL every constraint check
share-locks the one parent row all concurrent writers insert under. The references still
behave as foreign keys in the ORM: deleting a workspace deletes its rows."""

import pytest
from django.db import connection, transaction
from django.db.models import ProtectedError

from analytics.models import ContactFact, MessageFact, RunFact
from channels_app.models.outbox import Message, SimulatedOutcome
from channels_app.models.providers import WebhookReceipt
from console.models import Customer, Event, Workspace
from journeys.models import Run
from journeys.services import journey_create, journey_publish
from tests.channels_app.outbox_fixtures import seeded, sms_enqueue  # noqa: F401
from tests.journeys.conftest import send_event
from tests.journeys.test_engine_db import go, waits

HOT = [
    (Event, "workspace"), (Message, "workspace"), (SimulatedOutcome, "workspace"),
    (WebhookReceipt, "workspace"), (Run, "workspace"), (Run, "journey"),
    (RunFact, "workspace"), (MessageFact, "workspace"), (ContactFact, "workspace"),
]  # fmt: skip


def _foreign_keys(model) -> dict[str, tuple]:
    """column -> (table, column) of each foreign-key constraint the database holds."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {c["columns"][0]: c["foreign_key"] for c in found.values() if c["foreign_key"]}


@pytest.mark.django_db
def test_the_hot_tables_hold_no_constraint_on_their_shared_parent_and_the_others_keep_theirs():
    for model, name in HOT:
        field = model._meta.get_field(name)
        assert not field.db_constraint, f"{model.__name__}.{name}"
        assert field.column not in _foreign_keys(model), f"{model.__name__}.{name}"
    # The rest of each table's references are still checked by the database.
    assert _foreign_keys(Event)["customer_id"][0] == Customer._meta.db_table
    assert _foreign_keys(Run)["version_id"][0] == "journeys_journeyversion"
    assert _foreign_keys(Customer)["workspace_id"][0] == Workspace._meta.db_table


@pytest.mark.django_db
def test_deleting_a_workspace_still_deletes_its_events_and_messages(
    workspace, other_workspace, seeded, make_customer, clock
):
    customer = make_customer()
    send_event(customer, "go", ref="R1")
    sms_enqueue(customer)
    other = Customer.objects.create(
        workspace=other_workspace, external_id="x-1", phone="+919800000001"
    )
    kept = send_event(other, "go", ref="R2")
    assert Event.objects.filter(workspace=workspace).exists()
    assert Message.objects.filter(workspace=workspace).exists()

    workspace.delete()

    for model in (Event, Message, Customer):
        assert not model.objects.filter(workspace_id=workspace.pk).exists(), model.__name__
    assert Event.objects.filter(workspace=other_workspace).count() == 1, kept


@pytest.mark.django_db
def test_a_workspace_whose_runs_keep_a_journey_version_is_not_deleted_at_all(
    workspace, make_customer, clock, engine_sync
):
    journey = journey_create(workspace=workspace, name="Waits", graph=waits())
    journey_publish(journey=journey, note="v1")
    go(make_customer())

    with pytest.raises(ProtectedError), transaction.atomic():
        workspace.delete()

    assert Run.objects.filter(workspace=workspace, journey=journey).count() == 1
    assert Event.objects.filter(workspace=workspace).count() == 1
