"""Read source rows (runs, steps, messages, status changes, events) into the plain rows the pure
metrics take. Every loader takes a batch of ids and runs a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from analytics.clocks import journey_at
from analytics.metrics import ContactRow, MessageRow, RunRow
from analytics.models import ContactFact
from analytics.optouts import OptOutRow
from channels_app.models.consent import ConsentEntry
from channels_app.models.outbox import Message, MessageStatusChange
from journeys.models import Run, Step

CONTACT_EVENTS = ("inbound.call", "inbound.message", "message.clicked", "agent.requested")
ADVISOR_WORDS = ("advisor", "adviser", "agent")


def contact_kind(name: str, props: dict) -> tuple[str, str] | None:
    """(kind, channel) when an event is a contact signal, else None.

    An inbound message that is a consent keyword is not a contact; one that is a button tap is
    counted by its ``message.clicked`` (once), and only an advisor tap is a contact.
    """
    channel = str(props.get("channel") or "")
    if name == "inbound.call":
        return "call", "voice"
    if name == "agent.requested":
        return "agent", "voice"
    if name == "inbound.message":
        if props.get("keyword") or props.get("button") or props.get("button_title"):
            return None
        return "message", channel
    if name == "message.clicked":
        label = " ".join(str(props.get(k) or "") for k in ("button_title", "button", "text"))
        if any(word in label.lower() for word in ADVISOR_WORDS):
            return "advisor", channel
    return None


class LoadedRun(NamedTuple):
    workspace_id: int
    row: RunRow


class LoadedMessage(NamedTuple):
    workspace_id: int
    failure: str  # the provider's error code, else its reason
    row: MessageRow


def runs_load(run_ids: Iterable[int]) -> dict[int, LoadedRun]:
    """Runs with the nodes they stepped through, as value rows (no model instances: the rollup
    job reads thousands per chunk)."""
    runs = list(
        Run.objects.filter(pk__in=list(run_ids)).values_list(
            "id", "workspace_id", "journey_id", "customer_id", "status", "entered_at", "ended_at",
            "holdout", "goal_reached_at", "version__number",
        )
    )  # fmt: skip
    steps: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for run_id, node_id, kind, port in (
        Step.objects.filter(run_id__in=[r[0] for r in runs])
        .order_by("run_id", "entered_at", "id")
        .values_list("run_id", "node_id", "kind", "port")
    ):
        steps[run_id].append((node_id, kind, port))
    out = {}
    for run_id, ws, journey_id, customer_id, status, entered, ended, holdout, goal, number in runs:
        mine = steps.get(run_id, [])
        row = RunRow(
            run_id=run_id, customer_id=customer_id, journey_id=journey_id, version=number,
            status=status, entered_at=entered, holdout=holdout, ended_at=ended,
            goal_reached_at=goal, nodes=tuple(n for n, _, _ in mine),
            arms=tuple((n, p) for n, k, p in mine if k == "split" and p),
        )  # fmt: skip
        out[run_id] = LoadedRun(ws, row)
    return out


MESSAGE_FIELDS = (
    "id", "workspace_id", "customer_id", "channel", "provider_kind", "template_key", "language",
    "status", "decision_reason", "cost", "run_id", "node_id", "created_at", "sent_at",
    "error_code", "error_reason",
)  # fmt: skip


def messages_load(*, ids: Iterable[int] = (), run_ids: Iterable[int] = ()) -> list[LoadedMessage]:
    """Messages by id or by run, with the statuses they reached and when."""
    ids, run_ids = list(ids), list(run_ids)
    found: dict[int, tuple] = {}
    if ids:
        found.update(
            (r[0], r) for r in Message.objects.filter(pk__in=ids).values_list(*MESSAGE_FIELDS)
        )
    if run_ids:
        found.update(
            (r[0], r)
            for r in Message.objects.filter(run_id__in=run_ids).values_list(*MESSAGE_FIELDS)
        )
    changes: dict[int, dict[str, object]] = defaultdict(dict)
    for message_id, status, at in MessageStatusChange.objects.filter(
        message_id__in=list(found)
    ).values_list("message_id", "status", "at"):
        changes[message_id][status] = at
    runs = {
        run_id: (journey_id, version)
        for run_id, journey_id, version in Run.objects.filter(
            pk__in={r[10] for r in found.values() if r[10]}
        ).values_list("id", "journey_id", "version__number")
    }
    out = []
    for (
        pk, ws, customer_id, channel, provider, template, language, status, reason, cost,
        run_id, node_id, created_at, sent_at, error_code, error_reason,
    ) in found.values():  # fmt: skip
        seen = changes.get(pk, {})
        in_run = run_id in runs
        journey_id, version = runs.get(run_id, (0, 0))
        row = MessageRow(
            message_id=pk, customer_id=customer_id, channel=channel, created_at=created_at,
            statuses=frozenset({*seen, status}), run_id=run_id,
            journey_id=journey_id, version=version,
            node_id=node_id if in_run else "", provider=provider, template=template,
            language=language, cost=cost, decision_reason=reason,
            sent_at=journey_at(ws, sent_at or seen.get("sent")),
            delivered_at=journey_at(ws, seen.get("delivered")),
            read_at=journey_at(ws, seen.get("read")),
        )  # fmt: skip
        out.append(LoadedMessage(ws, error_code or error_reason, row))
    return out


CONTACT_FIELDS = ("event_id", "customer_id", "at", "kind", "channel", "key", "journey_id",
                  "version", "group")  # fmt: skip


def contacts_of_customers(customer_ids: Iterable[int]) -> dict[int, list[ContactRow]]:
    out: dict[int, list[ContactRow]] = defaultdict(list)
    for values in ContactFact.objects.filter(customer_id__in=list(customer_ids)).values_list(
        *CONTACT_FIELDS
    ):
        row = ContactRow(*values)
        out[row.customer_id].append(row)
    return out


def optouts_of_customers(customer_ids: Iterable[int]) -> dict[int, list[OptOutRow]]:
    """Consent withdrawals of these customers (any workspace: customers belong to one)."""
    out: dict[int, list[OptOutRow]] = defaultdict(list)
    for entry_id, workspace_id, customer_id, channel, at in ConsentEntry.objects.filter(
        customer_id__in=list(customer_ids), status="withdrawn"
    ).values_list("id", "workspace_id", "customer_id", "channel", "at"):
        out[customer_id].append(
            OptOutRow(entry_id, customer_id, channel, journey_at(workspace_id, at))
        )
    return out


def touches_of_customers(customer_ids: Iterable[int]) -> dict[int, list[MessageRow]]:
    """Every message of these customers as a light row (status as it stands now), for
    attributing their opt-outs to the last message before them."""
    out: dict[int, list[MessageRow]] = defaultdict(list)
    customer_ids = list(customer_ids)
    if not customer_ids:
        return out
    rows = Message.objects.filter(customer_id__in=customer_ids).values_list(
        "id", "workspace_id", "customer_id", "channel", "status", "run_id", "node_id",
        "created_at", "sent_at",
    )  # fmt: skip
    for pk, ws, customer_id, channel, status, run_id, node_id, created_at, sent_at in rows:
        out[customer_id].append(
            MessageRow(
                message_id=pk,
                customer_id=customer_id,
                channel=channel,
                created_at=created_at,
                statuses=frozenset({status}),
                run_id=run_id,
                node_id=node_id if run_id else "",
                sent_at=journey_at(ws, sent_at),
            )  # fmt: skip
        )
    return out
