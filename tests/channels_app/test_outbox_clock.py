"""Messages queued by a journey on an accelerated clock fall due in that journey's time."""

from datetime import timedelta

from django.utils import timezone

from channels_app.models.outbox import Message
from channels_app.outbox.claims import messages_claim_due
from console.models import Customer
from journeys.clock import clock_frozen, clock_speed_set


def pending(workspace, customer, key, due_at):
    return Message.objects.create(
        workspace=workspace,
        customer=customer,
        channel="sms",
        purpose="transactional",
        idempotency_key=key,
        status="queued",
        due_at=due_at,
    )


def test_accelerated_workspace_messages_are_due_by_journey_time_others_by_wall_time(
    workspace, other_workspace
):
    start = timezone.now()
    ours = Customer.objects.create(workspace=workspace, external_id="A", phone="+919812345678")
    theirs = Customer.objects.create(
        workspace=other_workspace, external_id="B", phone="+919812345679"
    )
    with clock_frozen(start) as clock:
        clock_speed_set(workspace=workspace, factor=600)  # 1 real second = 10 journey minutes
        in_journey_time = pending(workspace, ours, "a", start + timedelta(minutes=15))
        in_wall_time = pending(other_workspace, theirs, "b", start + timedelta(minutes=15))
        later = start + timedelta(seconds=2)  # 20 journey minutes later, 2 real seconds
        clock.now = later
        claimed = messages_claim_due(worker="w1", limit=10, now=later)
    assert claimed == [in_journey_time.pk]
    assert Message.objects.get(pk=in_wall_time.pk).claimed_by is None
