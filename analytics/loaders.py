"""Read source rows (runs, steps, messages, status changes, events) into the plain rows the pure
metrics take. Every loader takes a batch of ids and runs a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

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


def runs_load(run_ids: Iterable[int]) -> dict[int, tuple[Run, RunRow]]:
    runs = {
        r.pk: r
        for r in Run.objects.filter(pk__in=list(run_ids)).select_related("version").only(
            "id", "workspace_id", "journey_id", "customer_id", "status", "entered_at", "ended_at",
            "holdout", "goal_reached_at", "version__number",
        )
    }  # fmt: skip
    steps: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for run_id, node_id, kind, port in (
        Step.objects.filter(run_id__in=list(runs))
        .order_by("run_id", "entered_at", "id")
        .values_list("run_id", "node_id", "kind", "port")
    ):
        steps[run_id].append((node_id, kind, port))
    out = {}
    for run_id, run in runs.items():
        mine = steps.get(run_id, [])
        row = RunRow(
            run_id=run_id, customer_id=run.customer_id, journey_id=run.journey_id,
            version=run.version.number, status=run.status, entered_at=run.entered_at,
            holdout=run.holdout, ended_at=run.ended_at, goal_reached_at=run.goal_reached_at,
            nodes=tuple(n for n, _, _ in mine),
            arms=tuple((n, p) for n, k, p in mine if k == "split" and p),
        )  # fmt: skip
        out[run_id] = (run, row)
    return out


def messages_load(
    *, ids: Iterable[int] = (), run_ids: Iterable[int] = ()
) -> list[tuple[Message, MessageRow]]:
    """Messages by id or by run, with the statuses they reached and when."""
    qs = Message.objects.only(
        "id", "workspace_id", "customer_id", "channel", "provider_kind", "template_key",
        "language", "status", "decision_reason", "cost", "run_id", "node_id", "created_at",
        "sent_at", "error_code", "error_reason",
    )  # fmt: skip
    ids, run_ids = list(ids), list(run_ids)
    messages = list(qs.filter(pk__in=ids)) if ids else []
    if run_ids:
        messages += list(qs.filter(run_id__in=run_ids))
    messages = list({m.pk: m for m in messages}.values())
    changes: dict[int, dict[str, object]] = defaultdict(dict)
    for message_id, status, at in MessageStatusChange.objects.filter(
        message_id__in=[m.pk for m in messages]
    ).values_list("message_id", "status", "at"):
        changes[message_id][status] = at
    versions = dict(
        Run.objects.filter(pk__in={m.run_id for m in messages if m.run_id}).values_list(
            "id", "version__number"
        )
    )
    journeys = dict(Run.objects.filter(pk__in=list(versions)).values_list("id", "journey_id"))
    out = []
    for m in messages:
        seen = changes.get(m.pk, {})
        ws = m.workspace_id
        row = MessageRow(
            message_id=m.pk, customer_id=m.customer_id, channel=m.channel,
            created_at=m.created_at, statuses=frozenset({*seen, m.status}), run_id=m.run_id,
            journey_id=journeys.get(m.run_id, 0), version=versions.get(m.run_id, 0),
            node_id=m.node_id if m.run_id in journeys else "", provider=m.provider_kind,
            template=m.template_key, language=m.language, cost=m.cost,
            decision_reason=m.decision_reason,
            sent_at=journey_at(ws, m.sent_at or seen.get("sent")),
            delivered_at=journey_at(ws, seen.get("delivered")),
            read_at=journey_at(ws, seen.get("read")),
        )  # fmt: skip
        out.append((m, row))
    return out


def contacts_of_customers(customer_ids: Iterable[int]) -> dict[int, list[ContactRow]]:
    out: dict[int, list[ContactRow]] = defaultdict(list)
    for fact in ContactFact.objects.filter(customer_id__in=list(customer_ids)):
        out[fact.customer_id].append(contact_row(fact))
    return out


def contact_row(fact: ContactFact) -> ContactRow:
    return ContactRow(
        event_id=fact.event_id, customer_id=fact.customer_id, at=fact.at, kind=fact.kind,
        channel=fact.channel, key=fact.key, journey_id=fact.journey_id, version=fact.version,
        group=fact.group,
    )  # fmt: skip


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
