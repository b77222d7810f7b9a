"""The dispatcher: claim due messages, re-check the policy, mark "sending" (committed BEFORE the
provider call), call the provider after commit, record the outcome.

It works in batches: one transaction re-checks and marks a whole claim (consent, preferences and
recent sends read once for all its customers; on PostgreSQL that transaction is the claim itself,
``FOR NO KEY UPDATE SKIP LOCKED``, so a message is written once to be claimed and marked), the
provider calls follow one by one, and their answers are recorded together, one transaction per
RECORD_EVERY calls (or RECORD_AFTER_S).

Sends through an in-database adapter (the simulator, whose answers are planned outcome rows)
are made and recorded inside the batch's transaction: nothing outside the database can be left
half-done, so they skip the committed "sending" and its second write of each row (the status
history still shows "sending").

Crash safety: a worker killed after "sending" committed leaves the row in flight; once its lease
runs out ``messages_reconcile`` asks the provider (``fetch_status`` / ``find_sent``; for Meta,
which cannot be asked, it waits for the status webhook carrying our reference) before any resend,
so each message reaches the provider once. ``SANGAM_DISPATCH_CRASH_AT=before_call|after_call`` is a
test hook that SIGKILLs this process at that point.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from channels_app.models.outbox import (
    IN_FLIGHT_STATUSES,
    PENDING_STATUSES,
    Message,
)
from channels_app.models.providers import ProviderAccount
from channels_app.outbox.claims import (
    claim_release,
    messages_claim_due,
    messages_claim_stale,
    messages_due_locked,
    worker_name,
)
from channels_app.outbox.clock import workspace_nows
from channels_app.outbox.outcomes import _history, history_insert, message_outcome_record
from channels_app.outbox.sending import (
    SENDING_FIELDS,
    outbound_for,
    send_result_record,
    send_results_record,
)
from channels_app.policies.inputs import batch_inputs
from channels_app.policies.selectors import send_decide
from channels_app.policy import Decision
from channels_app.providers.base import (
    AuthFailed,
    PermanentError,
    RateLimited,
    SendResult,
    TransientError,
)
from channels_app.providers_console.services import (
    adapter_for,
    adapter_in_database,
    adapter_key,
    breaker_allows,
    breaker_failure,
    breaker_success,
    route_resolve,
)
from console.db import prepared_write, rows_update
from console.dbstats import statistics_keep_up
from console.models import Workspace

log = logging.getLogger("sangam.dispatch")
NO_LOOKUP_WAIT_S = 600  # Meta/Exotel: how long to wait for a webhook naming an unknown send
RETRY_BASE_S = 5
RECORD_EVERY = 250  # provider answers recorded per transaction
DISPATCH_LIMIT = 1000  # due messages one worker sends per batch (its tasks and sweeps)
# Provider calls one batch makes after committing "sending", one after another: the last must
# start well within DISPATCH_LEASE_S, after which another worker reconciles a send still in
# flight. The rest of the batch is released, due at once. The simulator's sends are no calls.
CALLS_PER_BATCH = 500
RECORD_AFTER_S = 2.0  # ... or sooner, so that a slow provider's answers are not held back


@dataclass
class Adapters:
    """One adapter per account for the batch (pooled HTTP connections), closed at the end; the
    simulator without an account, one per workspace (its settings are the workspace's)."""

    by_account: dict[int | tuple[str, int], object] = field(default_factory=dict)

    def get(self, message: Message, account: ProviderAccount | None):
        key = adapter_key(message.workspace_id, account)
        if key not in self.by_account:
            self.by_account[key] = adapter_for(workspace=message.workspace, account=account)
        return self.by_account[key]

    def close(self) -> None:
        for adapter in self.by_account.values():
            close = getattr(adapter, "close", None)
            if close:
                close()


def _crash_hook(point: str) -> None:
    """Test hook: SIGKILL this process at ``point``. With ``SANGAM_DISPATCH_CRASH_ONCE`` (a file
    path) only the first process to create that file dies, so a django-q2 cluster whose workers
    all inherit the setting can recover."""
    if os.environ.get("SANGAM_DISPATCH_CRASH_AT") != point:
        return
    marker = os.environ.get("SANGAM_DISPATCH_CRASH_ONCE")
    if marker:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    os.kill(os.getpid(), signal.SIGKILL)


def outbox_dispatch(*, limit: int = DISPATCH_LIMIT, now: datetime | None = None) -> dict[str, int]:
    """One batch: reconcile stale in-flight sends, then send up to ``limit`` due messages."""
    statistics_keep_up()
    now = now or timezone.now()
    worker = worker_name()
    adapters = Adapters()
    counts = {"reconciled": 0, "sent": 0}
    try:
        for message_id in messages_claim_stale(worker=worker, limit=limit, now=now):
            counts["reconciled"] += 1
            message_reconcile(message_id, worker=worker, now=now, adapters=adapters)
        if connection.vendor == "postgresql":  # claimed by the batch's own transaction
            counts["sent"] += messages_send(None, worker=worker, now=now, adapters=adapters,
                                            limit=limit)  # fmt: skip
        else:
            due = messages_claim_due(worker=worker, limit=limit, now=now)
            if due:
                counts["sent"] += messages_send(due, worker=worker, now=now, adapters=adapters)
    finally:
        adapters.close()
    return counts


def _rate_exceeded(
    account: ProviderAccount | None, now: datetime, taken: dict | None = None
) -> bool:
    """Would one more send pass the account's per-second limit? ``taken`` counts the sends of
    the current batch (the database count is read once per account and batch)."""
    if account is None:
        return False
    if taken is not None and account.pk in taken:
        recent = taken[account.pk]
    else:
        recent = Message.objects.filter(
            provider_account=account, sent_at__gt=now - timedelta(seconds=1), sent_at__lte=now
        ).count()
    if recent >= account.rate_limit_per_s:
        return True
    if taken is not None:
        taken[account.pk] = recent + 1
    return False


def _recheck_decision(
    message: Message, now: datetime, nows: dict[int, datetime] | None = None
) -> Decision | None:
    """The send-time policy re-check: None when the message may go now, else the decision
    that holds it (reads only). ``nows``: the accelerated workspaces' clocks, read once per
    batch."""
    if message.decision_reason == "keyword_confirmation":
        return None  # the reply to STOP/START the customer just sent is always allowed
    decision = send_decide(
        customer=message.customer,
        channel=message.channel,
        purpose=message.purpose,
        template_family=message.template_family or None,
        template_status="APPROVED",
        template_category=(message.spec or {}).get("category") or None,
        at=(nows if nows is not None else workspace_nows()).get(message.workspace_id, now),
        message_id=message.pk,
    )
    return None if decision.action == "send" else decision


def _recheck_apply(message: Message, decision: Decision, now: datetime) -> None:
    """Record a re-check that holds the message: deferred to its time, or blocked."""
    fields = Message.decision_fields(decision)
    if decision.action == "defer":
        claim_release(message.pk, status="deferred", due_at=decision.until, **fields)
        return
    Message.objects.filter(pk=message.pk).update(**fields)
    message_outcome_record(
        message=message,
        status="blocked",
        at=now,
        source="dispatch:recheck",
        error_code=decision.reason[:32],
        error_reason=decision.detail,
        properties={"reason": decision.reason, "detail": decision.detail},
    )
    claim_release(message.pk)


def messages_send(
    message_ids: list[int] | None, *, worker: str, now: datetime, adapters: Adapters,
    limit: int = 0,
) -> int:  # fmt: skip
    """Send a claimed batch (``message_ids``), or on PostgreSQL up to ``limit`` due messages
    claimed as the batch is prepared (None); returns how many the providers took."""
    taken: list[tuple[Message, ProviderAccount | None, object, SendResult]] = []
    succeeded: dict[int, ProviderAccount] = {}
    started = time.monotonic()
    ready, sent = _prepare_batch(message_ids, worker, now, adapters, limit)
    for message, account in ready:
        adapter = adapters.get(message, account)
        try:
            outbound = outbound_for(message, account)
        except ValueError as exc:
            _permanent(message, account, PermanentError("invalid", str(exc)), now)
            continue
        _crash_hook("before_call")
        try:
            result = adapter.send(outbound)
        except Exception as exc:  # noqa: BLE001  (every failure is recorded on the message)
            _crash_hook("after_call")
            send_failure_record(message, account, exc, now)
            continue
        _crash_hook("after_call")
        taken.append((message, account, outbound, result))
        if account is not None:
            succeeded[account.pk] = account
        if len(taken) >= RECORD_EVERY or time.monotonic() - started > RECORD_AFTER_S:
            sent += send_results_record(taken, now)
            taken, started = [], time.monotonic()
    if taken:
        sent += send_results_record(taken, now)
    for account in succeeded.values():
        breaker_success(account)
    return sent


def _prepare_batch(
    message_ids: list[int] | None, worker: str, now: datetime, adapters: Adapters, limit: int = 0
) -> tuple[list[tuple[Message, ProviderAccount | None]], int]:
    """Lock, re-check and commit "sending" for a claimed batch (or, given no ids, for up to
    ``limit`` due messages claimed here), in one transaction; returns the messages that go now
    with their accounts, and how many that transaction sent itself (``_send_held``). On
    SQLite, outside a transaction, the re-checks are made before the write lock is taken
    (``_prepare_outside``)."""
    if message_ids is not None:
        ready = _prepare_outside(message_ids, worker, now)
        if ready is not None:
            return ready, 0
    with transaction.atomic():
        messages = _batch_messages(message_ids, worker, now, limit)
        ready, held = _batch_apply(_batch_decide(messages, now), now, worker, adapters)
        return ready, _send_held(held, now, adapters)


def _prepare_outside(
    message_ids: list[int], worker: str, now: datetime
) -> list[tuple[Message, ProviderAccount | None]] | None:
    """SQLite: read the claimed batch and decide each message with reads only, then record the
    decisions in one short transaction that first checks every message is still pending and
    claimed by this worker, so that another worker can write meanwhile (``prepared_write``).
    None (nothing written) when one changed, or when deciding needs a write (a workspace's
    first use creates its simulator settings): the caller then does it all inside the lock."""

    def prepare():
        messages = _batch_messages(message_ids, worker, now, 0)
        return messages, _batch_decide(messages, now)

    def write(prepared):
        messages, actions = prepared
        stored = dict(
            Message.objects.filter(pk__in=[m.pk for m in messages], claimed_by=worker)
            .values_list("id", "status")
        )  # fmt: skip
        if any(stored.get(m.pk) != m.status for m in messages):
            return None
        return _batch_apply(actions, now, worker)[0]

    return prepared_write(prepare, write)


def _batch_messages(
    message_ids: list[int] | None, worker: str, now: datetime, limit: int
) -> list[Message]:
    """The batch's messages with their customers and workspaces (one object per workspace);
    given no ids, up to ``limit`` due ones claimed by the caller's transaction."""
    if message_ids is None:
        messages = list(messages_due_locked(limit=limit, now=now).select_related("customer"))
    else:
        rows = (
            Message.objects.select_related("customer")
            .filter(pk__in=message_ids, claimed_by=worker, status__in=PENDING_STATUSES)
            .order_by("id")
        )
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(of=("self",), no_key=True)
        messages = list(rows)
    workspaces = Workspace.objects.in_bulk({m.workspace_id for m in messages})
    for message in messages:  # one object per workspace, not two per message
        message.workspace = workspaces[message.workspace_id]
        if message.customer.workspace_id in workspaces:
            message.customer.workspace = workspaces[message.customer.workspace_id]
        message.claimed_by = worker  # claimed (released again if not sent)
    return messages


def _batch_decide(messages: list[Message], now: datetime) -> list[tuple[Message, str, object]]:
    """What becomes of each message of the batch (reads only): ("ready", its account), held
    by the re-check (the decision's action, the decision), its account's breaker open
    ("breaker", the account) or its rate limit reached ("rate", None)."""
    routes: dict[tuple[int, str], ProviderAccount | None] = {}
    rate_taken: dict[int, int] = {}
    actions: list[tuple[Message, str, object]] = []
    nows = workspace_nows()  # quiet hours and caps in journey time
    with batch_inputs(m.customer for m in messages):
        for message in messages:
            decision = _recheck_decision(message, now, nows)
            if decision is not None:
                actions.append((message, decision.action, decision))
                continue
            route_key = (message.workspace_id, message.channel)
            if route_key not in routes:
                routes[route_key] = route_resolve(
                    workspace=message.workspace, channel=message.channel
                )
            account = routes[route_key]
            if not breaker_allows(account, now):
                actions.append((message, "breaker", account))
            elif _rate_exceeded(account, now, rate_taken):
                actions.append((message, "rate", None))
            else:
                actions.append((message, "ready", account))
    return actions


def _batch_apply(
    actions: list[tuple[Message, str, object]],
    now: datetime,
    worker: str,
    adapters: Adapters | None = None,
) -> tuple[
    list[tuple[Message, ProviderAccount | None]], list[tuple[Message, ProviderAccount | None]]
]:
    """Record the batch's decisions (inside its transaction); returns the messages that go
    after it commits, and (given ``adapters``) those whose adapter sends inside it (the
    simulator's: ``_send_held``), marked "sending" in memory only."""
    ready: list[tuple[Message, ProviderAccount | None]] = []
    held: list[tuple[Message, ProviderAccount | None]] = []
    calls = 0  # to real providers
    for message, kind, detail in actions:
        if kind == "ready":
            in_database = adapter_in_database(detail)
            if in_database and adapters is not None:
                held.append((message, detail))
            elif in_database or calls < CALLS_PER_BATCH:
                ready.append((message, detail))
                calls += not in_database
            else:
                claim_release(message.pk)  # the next batch takes it
        elif kind == "breaker":
            claim_release(message.pk, due_at=detail.retry_at)
        elif kind == "rate":
            claim_release(message.pk, due_at=now + timedelta(seconds=1))
        else:
            _recheck_apply(message, detail, now)
    _mark_sending(ready, now, worker)
    _mark_sending(held, now, worker, write=False)
    return ready, held


def _send_held(held: list[tuple[Message, ProviderAccount | None]], now: datetime,
               adapters: Adapters) -> int:  # fmt: skip
    """Send through in-database adapters inside the batch's transaction and record their
    answers there: the send and its record commit together, or neither does, so such a send
    is never in flight and its row is written once instead of twice. Returns how many went."""
    taken: list[tuple[Message, ProviderAccount | None, object, SendResult]] = []
    for message, account in held:
        try:
            outbound = outbound_for(message, account)
            result = adapters.get(message, account).send(outbound)
        except Exception as exc:  # noqa: BLE001  (recorded on the message, as after a call)
            rows_update(Message, [message], list(SENDING_FIELDS))
            if isinstance(exc, ValueError):
                exc = PermanentError("invalid", str(exc))
            send_failure_record(message, account, exc, now)
            continue
        taken.append((message, account, outbound, result))
    for account in {account.pk: account for _, account, _, _ in taken if account}.values():
        breaker_success(account)
    return send_results_record(taken, now, held=True) if taken else 0


def _mark_sending(
    ready: list[tuple[Message, ProviderAccount | None]],
    now: datetime,
    worker: str,
    write: bool = True,
) -> None:
    """Mark these messages "sending" (``write`` False: on the objects only, for the batch's
    in-database sends, whose record writes these fields with the answer)."""
    by_account: dict[int | tuple[str, int], list[Message]] = defaultdict(list)
    accounts: dict[int | tuple[str, int], ProviderAccount | None] = {}
    for message, account in ready:
        key = adapter_key(message.workspace_id, account)
        by_account[key].append(message)
        accounts[key] = account
    for key, messages in by_account.items():
        account = accounts[key]
        fields = dict(
            status="sending",
            sent_at=now,
            provider_kind=account.kind if account else "simulator",
            provider_account=account,
            claimed_by=worker,
            claimed_at=now,
        )
        if write:
            Message.objects.filter(pk__in=[m.pk for m in messages]).update(
                attempts=F("attempts") + 1, **fields
            )
        for message in messages:
            for name, value in fields.items():
                setattr(message, name, value)
            message.attempts += 1
    history_insert(
        [[message.pk, "sending", now, "dispatch", True, f"attempt {message.attempts}", {}]
         for message, _ in ready]
    )  # fmt: skip


def _permanent(message: Message, account, exc: PermanentError, now: datetime) -> None:
    with transaction.atomic():
        message_outcome_record(
            message=message,
            status="failed",
            at=now,
            source=f"dispatch:{message.provider_kind}",
            raw=exc.raw,
            error_code=exc.code,
            error_reason=exc.reason,
        )
        claim_release(message.pk)


def send_failure_record(message: Message, account, exc: Exception, now: datetime) -> None:
    """Map a failed send to the message: defer, requeue, reconcile, fail or degrade."""
    reason = getattr(exc, "reason", str(exc)) or type(exc).__name__
    note = {"error": type(exc).__name__, "reason": reason}
    if isinstance(exc, RateLimited):
        until = now + timedelta(seconds=max(exc.retry_after_s, 0.5))
        _requeue(message, "deferred", until, f"rate limited: retry after {exc.retry_after_s:g}s")
    elif isinstance(exc, AuthFailed):
        breaker_failure(account, reason, now=now, force=True)
        _requeue(message, "queued", now + timedelta(seconds=30), reason)
    elif isinstance(exc, TransientError) and not exc.maybe_sent:
        breaker_failure(account, reason, now=now)
        backoff = RETRY_BASE_S * 2 ** min(message.attempts, 6)
        _requeue(message, "queued", now + timedelta(seconds=backoff), reason)
    elif isinstance(exc, TransientError):
        breaker_failure(account, reason, now=now)
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(
                status="unknown", claimed_by=None, claimed_at=now, error_reason=reason[:300]
            )
            _history(message, "unknown", now, "dispatch", True, reason, note)
    elif isinstance(exc, PermanentError):
        _permanent(message, account, exc, now)
    else:
        log.exception("send of message %s failed unexpectedly", message.pk, exc_info=exc)
        _permanent(message, account, PermanentError("error", f"{type(exc).__name__}: {exc}"), now)


def _requeue(message: Message, status: str, due: datetime, reason: str) -> None:
    """Nothing reached the provider: back to pending (our own "sending" is not an outcome)."""
    Message.objects.filter(pk=message.pk, status__in=IN_FLIGHT_STATUSES).update(
        status=status,
        due_at=due,
        sent_at=None,
        claimed_by=None,
        claimed_at=None,
        error_reason=reason[:300],
    )


# --- reconciliation -----------------------------------------------------------------------------


def message_reconcile(message_id: int, *, worker: str, now: datetime, adapters: Adapters) -> str:
    """Find out what became of an in-flight send whose worker went away; returns what it did."""
    message = (
        Message.objects.select_related("customer", "workspace", "provider_account")
        .filter(pk=message_id, claimed_by=worker, status__in=IN_FLIGHT_STATUSES)
        .first()
    )
    if message is None:
        return "gone"
    account = message.provider_account
    adapter = adapters.get(message, account)
    outbound = outbound_for(message, account)
    found = None
    try:
        if message.provider_id:
            found = adapter.fetch_status(message.provider_id)
            result = SendResult(message.provider_id, "sent", {}) if found else None
        else:
            result = adapter.find_sent(outbound, message.sent_at or now)
    except (TransientError, AuthFailed, RateLimited) as exc:
        claim_release(message.pk, claimed_at=now, error_reason=str(exc)[:300])
        return "later"
    if result is None:
        return _not_found(message, now)
    send_result_record(message, account, result, outbound, now, source="reconcile")
    if found is not None:
        from channels_app.webhooks.status import outcome_apply

        with transaction.atomic():
            outcome_apply(message=message, outcome=found, source="reconcile")
    return "found"


def _not_found(message: Message, now: datetime) -> str:
    if message.provider_id or message.provider_kind in ("meta", "exotel"):
        # The provider cannot be searched: only its webhook (with our reference) can tell.
        if message.sent_at and now < message.sent_at + timedelta(seconds=NO_LOOKUP_WAIT_S):
            Message.objects.filter(pk=message.pk).update(claimed_by=None, claimed_at=now)
            return "waiting"
    with transaction.atomic():
        _history(message, "requeued", now, "reconcile", False, "not found at the provider", {})
        _requeue(message, "queued", now, "not found at the provider after a lost answer")
    return "requeued"
