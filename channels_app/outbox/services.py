"""Writes of the outbox: ``message_enqueue`` (what the journey engine calls inside its own
transaction) and the outcome writer ``message_outcome_record`` (re-exported from ``outcomes``).

``message_enqueue`` renders the template for the customer, asks the send policy, and writes ONE
Message row (queued, deferred, blocked, or failed when it cannot be rendered). It never talks to
a provider: the dispatcher does that after commit. Replay-safe: the same (workspace,
idempotency_key) returns the existing row's result and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from channels_app.models.outbox import PENDING_STATUSES, Message
from channels_app.models.templates import Template
from channels_app.outbox.outcomes import message_outcome_record  # noqa: F401  (public)
from channels_app.outbox.spec import SendSpec
from channels_app.outbox.tasks import outbox_kick
from channels_app.policies.inputs import SendRow, batch_memo, batch_scope
from channels_app.policies.selectors import channel_best, message_cost_estimate, send_decide
from channels_app.policy import Decision
from channels_app.tmpl.render import RenderedMessage, TemplateRenderError
from channels_app.tmpl.services import TemplateNotApproved, template_render_for_customer
from console.db import ids_reserve, rows_insert
from console.models import Customer, Workspace

CHANNELS = ("sms", "whatsapp", "voice")
CHANNEL_SUFFIXES = {"sms": ("sms",), "whatsapp": ("whatsapp", "wa"), "voice": ("voice", "ivr")}


@dataclass(frozen=True)
class EnqueueResult:
    message_id: int | None
    status: str  # queued | deferred | blocked | failed
    channel: str
    reason: str = ""
    until: datetime | None = None
    detail: str = ""

    @classmethod
    def of(cls, message: Message) -> EnqueueResult:
        status = message.status if message.status in ("deferred", "blocked", "failed") else "queued"
        return cls(
            message.pk,
            status,
            message.channel,
            message.decision_reason or message.error_code,
            message.decision_until,
            message.decision_detail or message.error_reason,
        )


def template_family_of(key: str) -> str:
    """``dispatch_whatsapp`` -> ``dispatch``: the content across channels."""
    for suffixes in CHANNEL_SUFFIXES.values():
        for suffix in suffixes:
            if key.endswith("_" + suffix):
                return key[: -len(suffix) - 1]
    return key


def templates_for(*, workspace: Workspace, key: str) -> dict[str, Template]:
    """The template per channel that ``key`` names: itself, or its family's siblings
    (``<family>_sms``, ``<family>_whatsapp``, ``<family>_voice``) for channel ``best``."""
    memo = batch_memo()
    if memo is not None:  # inside a batch sender's scope: once per (workspace, key) per batch
        memo_key = ("templates", workspace.pk, key)
        if memo_key not in memo:
            memo[memo_key] = _templates_for(workspace, key)
        return dict(memo[memo_key])
    return _templates_for(workspace, key)


def _templates_for(workspace: Workspace, key: str) -> dict[str, Template]:
    family = template_family_of(key)
    keys = {key, family} | {
        f"{family}_{s}" for suffixes in CHANNEL_SUFFIXES.values() for s in suffixes
    }
    found: dict[str, Template] = {}
    rows = Template.objects.filter(workspace=workspace, key__in=keys, archived_at__isnull=True)
    for template in sorted(rows, key=lambda t: t.key != key):
        found.setdefault(template.channel, template)
    return found


def _values(variables: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(event, context) values: flat keys are looked up as ``event.<k>`` and ``context.<k>``."""
    flat = {k: v for k, v in variables.items() if k not in ("event", "context")}
    event = {**flat, **dict(variables.get("event") or {})}
    context = {**flat, **dict(variables.get("context") or {})}
    return event, context


def _cost(workspace: Workspace, rendered: RenderedMessage, purpose: str) -> Decimal | None:
    category = {
        "sms": purpose,
        "whatsapp": (rendered.whatsapp_category or "utility").lower(),
        "voice": "minute",
    }[rendered.channel]
    try:
        return message_cost_estimate(
            workspace=workspace,
            channel=rendered.channel,
            category=category,
            segments=max(1, rendered.segments),
            minutes=1,
        )
    except (ValueError, KeyError):
        return None


def _choose_channel(
    *, customer: Customer, channel: str, purpose: str, templates: dict[str, Template], at
) -> tuple[str | None, str]:
    if channel != "best":
        return (channel, "") if channel in templates else (None, f"no {channel} template")
    candidates = [c for c in CHANNELS if c in templates]
    chosen, why = channel_best(customer=customer, purpose=purpose, candidates=candidates, at=at)
    return chosen, "; ".join(why) or "no channel is reachable and allowed"


def _render(template: Template, customer: Customer, variables: Mapping[str, Any]):
    event, context = _values(variables)
    return template_render_for_customer(
        template=template, customer=customer, event=event, context=context, memo=batch_memo()
    )


def _failed(base: dict[str, Any], reason: str, detail: str) -> Message:
    return Message(**base, status="failed", error_code=reason, error_reason=detail[:300])


def message_draft(
    *,
    workspace: Workspace,
    customer: Customer,
    channel: str,
    template_key: str,
    purpose: str,
    variables: Mapping[str, Any],
    idempotency_key: str,
    run_id: int | None = None,
    node_id: str = "",
    at: datetime,
    kind: str = "message",
) -> Message:
    """The unsaved Message row for one send: rendered, decided, priced. Reads only."""
    base: dict[str, Any] = dict(
        workspace=workspace,
        customer=customer,
        channel=channel if channel in CHANNELS else "sms",
        purpose=purpose,
        template_key=template_key,
        template_family=template_family_of(template_key),
        idempotency_key=idempotency_key,
        run_id=run_id,
        node_id=node_id,
        kind=kind,
        to_number=customer.phone,
        variables=_jsonable(variables),
        created_at=at,
        status_at=at,
    )
    templates = templates_for(workspace=workspace, key=template_key)
    if not templates:
        return _failed(base, "no_template", f"No template '{template_key}' in this workspace.")
    chosen, why = _choose_channel(
        customer=customer, channel=channel, purpose=purpose, templates=templates, at=at
    )
    if chosen is None:
        return _failed(base, "no_channel", why)
    template = templates[chosen]
    base.update(channel=chosen, template_key=template.key)
    if not customer.phone:
        return _failed(base, "no_phone", "The customer has no phone number.")
    try:
        rendered = _render(template, customer, variables)
    except (TemplateNotApproved, TemplateRenderError) as exc:
        return _failed(base, "render_failed", str(exc))
    decision = send_decide(
        customer=customer,
        channel=chosen,
        purpose=purpose,
        template_family=base["template_family"],
        template_status="APPROVED",
        template_category=rendered.whatsapp_category.lower() or None,
        at=at,
    )
    return _decided(base, template, rendered, decision, purpose, at)


def _decided(base, template, rendered, decision: Decision, purpose, at) -> Message:
    status = {"send": "queued", "defer": "deferred", "block": "blocked"}[decision.action]
    due = decision.until if decision.action == "defer" else at
    return Message(
        **base,
        status=status,
        due_at=None if status == "blocked" else due,
        language=rendered.language,
        rendered_text=rendered.text,
        template_version_id=rendered.version_id,
        segments=max(1, rendered.segments),
        cost=_cost(template.workspace, rendered, purpose),
        spec=SendSpec.from_rendered(rendered, purpose).as_json(),
        **Message.decision_fields(decision),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _existing(workspace: Workspace, key: str) -> Message | None:
    return Message.objects.filter(workspace=workspace, idempotency_key=key).first()


@dataclass
class _Deferred:
    """The rows of a ``messages_batch`` block, written when it ends."""

    run_ids: set[int]
    stored_keys: set[str]
    rows: dict[str, Message] = field(default_factory=dict)


_deferred: ContextVar[_Deferred | None] = ContextVar("messages_batch", default=None)


@contextmanager
def messages_batch(*, run_ids: Iterable[int] = (), write: bool = True) -> Iterator[list[Message]]:
    """Inside the block ``message_enqueue`` decides at once but writes its rows when the block
    ends, in one INSERT (use inside the caller's transaction). ``run_ids``: the runs of the
    batch, whose stored keys are read in one query instead of one per send. With ``write``
    False the rows are not written: the list the block yields holds them when it ends, for the
    caller's ``messages_write``."""
    ids = set(run_ids)
    stored = set(
        Message.objects.filter(run_id__in=ids).values_list("idempotency_key", flat=True)
        if ids
        else ()
    )
    scope = _Deferred(ids, stored)
    token = _deferred.set(scope)
    decided: list[Message] = []
    try:
        yield decided
    finally:
        _deferred.reset(token)
    decided.extend(scope.rows.values())
    if write:
        messages_write(decided)


def messages_write(rows: list[Message]) -> None:
    """Insert decided rows in one statement, their keys reserved first under the same
    transaction's write lock; on a key a concurrent replay took first, one by one (that row
    then keeps the stored message)."""
    if not rows:
        return
    try:
        with transaction.atomic():
            ids_reserve(Message, rows)
            rows_insert(Message, rows, keys=True)
    except IntegrityError:
        for row in rows:
            row.pk = None
            _save(row)
        return
    for row in rows:
        _saved(row, kick=False)
    if any(row.status in PENDING_STATUSES for row in rows):
        outbox_kick()


def _known(workspace: Workspace, key: str, run_id: int | None) -> EnqueueResult | None:
    scope = _deferred.get()
    if scope is not None:
        if key in scope.rows:
            return EnqueueResult.of(scope.rows[key])
        if run_id in scope.run_ids and key not in scope.stored_keys:
            return None  # the batch read its runs' keys: no query needed
    existing = _existing(workspace, key)
    return EnqueueResult.of(existing) if existing is not None else None


def message_enqueue(
    *,
    workspace: Workspace,
    customer: Customer,
    channel: str,
    template_key: str,
    purpose: str,
    variables: dict,
    idempotency_key: str,
    run_id: int | None = None,
    node_id: str = "",
    at: datetime,
    kind: str = "message",
) -> EnqueueResult:
    """Write one Message for this send in the caller's transaction; see the module docstring.

    No outcome event is written here: the caller maps the returned status itself. A "call"
    also gets its Call row (channels_app.ivr).
    """
    known = _known(workspace, idempotency_key, run_id)
    if known is not None:
        return known
    row = message_draft(
        workspace=workspace,
        customer=customer,
        channel=channel,
        template_key=template_key,
        purpose=purpose,
        variables=variables,
        idempotency_key=idempotency_key,
        run_id=run_id,
        node_id=node_id,
        at=at,
        kind=kind,
    )
    _count_in_batch(row)
    scope = _deferred.get()
    if scope is not None:
        scope.rows[row.idempotency_key] = row
        return EnqueueResult.of(row)
    return _save(row)


def _count_in_batch(row: Message) -> None:
    """A pending row counts at once for the batch's next cap and echo decisions."""
    scope = batch_scope(row.customer)
    if scope is not None and row.status in PENDING_STATUSES:
        scope.send_add(
            SendRow(
                None,
                row.idempotency_key,
                row.customer_id,
                row.purpose,
                row.channel,
                row.template_family,
                row.status,
                None,
                row.due_at,
                row.created_at,
            )  # fmt: skip
        )


def _save(row: Message) -> EnqueueResult:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # a concurrent replay stored the same key first
        found = _existing(row.workspace, row.idempotency_key)
        if found is None:
            raise
        return EnqueueResult.of(found)
    _saved(row)
    return EnqueueResult.of(row)


def _saved(row: Message, kick: bool = True) -> None:
    if row.kind == "call" or row.channel == "voice":
        from channels_app.ivr.services import call_for_message_create

        call_for_message_create(message=row)
    if kick and row.status in PENDING_STATUSES:
        outbox_kick()


def messages_enqueue_bulk(items: list[dict]) -> list[EnqueueResult]:
    """``message_enqueue`` for each item (same keyword arguments), in one transaction."""
    with transaction.atomic():
        return [message_enqueue(**item) for item in items]
