"""The simulator's side of the wire: due planned outcomes and phone-view actions become signed
simulator webhooks and go through ``webhook_receive``, exactly like a provider's callbacks."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from django.utils import timezone

from channels_app.models.outbox import SimulatedOutcome
from channels_app.providers.base import WebhookRequest
from channels_app.providers.simulator import SimEvent, SimulatorAdapter, simulator_webhook
from channels_app.providers_console.services import adapter_for
from channels_app.webhooks.paths import webhook_url
from channels_app.webhooks.services import Owner, WebhookAnswer, webhook_receive
from console.models import Workspace

# Due outcomes travel like a provider's batched callbacks (Meta's carry lists too): this many per
# signed webhook keeps the stored receipt (and its replay) whole.
EVENTS_PER_POST = 250
POST_BYTES = 200_000  # stored receipts keep RECEIPT_BODY_CHARS (256 KiB) of a body


def simulator_post(
    *, workspace: Workspace, events: list[SimEvent], adapter: SimulatorAdapter | None = None
) -> WebhookAnswer:
    """Sign ``events`` with the workspace's simulator secret and receive them as a webhook
    (``adapter``: the workspace's simulator, when the caller already holds it)."""
    adapter = adapter or adapter_for(workspace=workspace, account=None)
    body, headers = simulator_webhook(events, adapter.config.secret)
    request = WebhookRequest(
        url=webhook_url("simulator", workspace.pk), headers=headers, raw_body=body
    )
    return webhook_receive(
        kind="simulator", owner_id=workspace.pk, endpoint="events", request=request,
        owner=Owner(workspace, None), adapter=adapter,
    )  # fmt: skip


def simulated_outcomes_deliver(*, now: datetime | None = None, limit: int = 500) -> int:
    """Post every due planned outcome (claimed by marking it delivered first)."""
    now = now or timezone.now()
    due = list(
        SimulatedOutcome.objects.filter(delivered_at__isnull=True, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    if not due:
        return 0
    claimed = SimulatedOutcome.objects.filter(id__in=due, delivered_at__isnull=True).update(
        delivered_at=now
    )
    if not claimed:
        return 0
    rows = list(
        SimulatedOutcome.objects.filter(id__in=due, delivered_at=now)
        .order_by("due_at", "id")
        .values_list("workspace_id", "event")
    )
    by_workspace: dict[int, list[SimEvent]] = defaultdict(list)
    for workspace_id, event in rows:
        by_workspace[workspace_id].append(SimEvent(**event))
    for workspace_id, events in by_workspace.items():
        workspace = Workspace.objects.get(pk=workspace_id)
        adapter = adapter_for(workspace=workspace, account=None)  # one settings read per sweep
        for chunk in _posts(events):
            simulator_post(workspace=workspace, events=chunk, adapter=adapter)
    return len(rows)


def _posts(events: list[SimEvent]) -> list[list[SimEvent]]:
    """Split into webhooks of at most EVENTS_PER_POST events and POST_BYTES of JSON."""
    chunks: list[list[SimEvent]] = [[]]
    size = 0
    for event in events:
        length = len(json.dumps(event.as_dict()))
        if chunks[-1] and (len(chunks[-1]) >= EVENTS_PER_POST or size + length > POST_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += length
    return [chunk for chunk in chunks if chunk]
