"""The simulator's side of the wire: due planned outcomes and phone-view actions become signed
simulator webhooks and go through ``webhook_receive``, exactly like a provider's callbacks."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import orjson
from django.db import connection
from django.utils import timezone

from channels_app.models.outbox import SimulatedOutcome
from channels_app.providers.base import WebhookRequest
from channels_app.providers.simulator import SimEvent, SimulatorAdapter, simulator_webhook
from channels_app.providers_console.services import adapter_for
from channels_app.webhooks.paths import webhook_url
from channels_app.webhooks.services import Owner, WebhookAnswer, webhook_receive
from console.dbstats import statistics_keep_up
from console.models import Workspace

# Due outcomes travel like a provider's batched callbacks (Meta's carry lists too): this many per
# signed webhook keeps the stored receipt (and its replay) whole.
EVENTS_PER_POST = 500
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


def simulated_outcomes_deliver(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Post up to ``limit`` due planned outcomes (claimed by marking them delivered first)."""
    statistics_keep_up()
    now = now or timezone.now()
    rows = _due_claim(now, limit)
    if not rows:
        return 0
    by_workspace: dict[int, list[SimEvent]] = defaultdict(list)
    for workspace_id, event in rows:
        by_workspace[workspace_id].append(SimEvent(**event))
    for workspace_id, events in by_workspace.items():
        workspace = Workspace.objects.get(pk=workspace_id)
        adapter = adapter_for(workspace=workspace, account=None)  # one settings read per sweep
        for chunk in _posts(events):
            simulator_post(workspace=workspace, events=chunk, adapter=adapter)
    return len(rows)


def _due_claim(now: datetime, limit: int) -> list[tuple[int, dict]]:
    """Mark up to ``limit`` due outcomes delivered and return them (workspace id, event) in due
    order: one statement, so two workers never post the same outcome (PostgreSQL skips the rows
    another worker's claim holds; SQLite has one writer)."""
    table = connection.ops.quote_name(SimulatedOutcome._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET delivered_at = %s WHERE id IN (SELECT id FROM {table} "
            f"WHERE delivered_at IS NULL AND due_at <= %s ORDER BY due_at, id LIMIT %s{lock}) "
            f"RETURNING due_at, id, workspace_id, event",
            [at, at, limit],
        )
        rows = sorted(cursor.fetchall())
    return [
        (workspace_id, event if isinstance(event, dict) else orjson.loads(event))
        for _, _, workspace_id, event in rows
    ]


def _posts(events: list[SimEvent]) -> list[list[SimEvent]]:
    """Split into webhooks of at most EVENTS_PER_POST events and POST_BYTES of JSON."""
    chunks: list[list[SimEvent]] = [[]]
    size = 0
    for event in events:
        length = len(orjson.dumps(event.as_dict()))
        if chunks[-1] and (len(chunks[-1]) >= EVENTS_PER_POST or size + length > POST_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += length
    return [chunk for chunk in chunks if chunk]
