"""The provider-facing half of a send: the OutboundMessage for a row, and recording what the
provider answered (provider id, "sent", parked statuses, the simulator's planned outcomes)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from channels_app.models.outbox import Message, SimulatedOutcome
from channels_app.models.providers import ProviderAccount
from channels_app.outbox.outcomes import (
    OutcomeReport,
    message_outcomes_record,
    messages_read,
    messages_unchanged,
    outcomes_plan,
    outcomes_write,
)
from channels_app.outbox.spec import SendSpec, outbound_build
from channels_app.providers.base import OutboundMessage, SendResult
from channels_app.providers.simulator import plan_events, simulator_plan
from channels_app.providers_console.services import (
    account_credentials,
    adapter_in_database,
    simulator_config,
)
from channels_app.webhooks.paths import webhook_url
from console.db import prepared_write, values_insert

STATUS_ENDPOINT = {"sms": "sms-status", "voice": "call-status", "whatsapp": "sms-status"}


def _urls(message: Message, account: ProviderAccount | None) -> dict[str, str]:
    if account is None or account.kind in ("simulator", "meta"):
        return {}
    if account.kind == "twilio":
        return {
            "status_callback": webhook_url("twilio", account.pk, "status"),
            "gather_action_url": webhook_url("twilio", account.pk, "voice/gather")
            + f"?message={message.pk}",
        }
    creds = account_credentials(account)
    return {
        "status_callback": webhook_url("exotel", account.pk, STATUS_ENDPOINT[message.channel]),
        "flow_url": creds.get("flow_url", ""),
    }


def outbound_for(message: Message, account: ProviderAccount | None) -> OutboundMessage:
    """The provider-neutral message for ``message``; ValueError when it cannot be built."""
    return outbound_build(
        channel=message.channel,
        to=message.to_number or message.customer.phone,
        key=message.idempotency_key,
        body=message.rendered_text,
        spec=SendSpec.parse(message.spec),
        language=message.language,
        **_urls(message, account),
    )


def send_result_record(
    message: Message,
    account: ProviderAccount | None,
    result: SendResult,
    outbound: OutboundMessage,
    now: datetime,
    source: str = "dispatch",
) -> None:
    """The provider took the message: store its id, report "sent", apply parked statuses."""
    send_results_record([(message, account, outbound, result)], now, source=source)


Answered = list[tuple[Message, ProviderAccount | None, OutboundMessage, SendResult]]


# What the dispatcher writes when it marks a message "sending" (an in-database send writes them
# with its answer, in the same UPDATE).
SENDING_FIELDS = ("status", "sent_at", "provider_kind", "provider_account", "claimed_by",
                  "claimed_at", "attempts")  # fmt: skip


def send_results_record(
    taken: Answered, now: datetime, source: str = "dispatch", *, held: bool = False
) -> int:
    """``send_result_record`` for a batch of answers, in one transaction; returns their number.
    On SQLite outside a transaction the batch is worked out before the write lock is taken
    (``_record_prepared``). ``held``: the caller's transaction holds the rows as it read them,
    marked "sending" in memory only (in-database sends): they are not read again, and the
    record's UPDATE writes the marked fields too."""
    if not held and _record_prepared(taken, now, source):
        return len(taken)
    with transaction.atomic():
        current = {m.pk: m for m, *_ in taken} if held else _current(taken, lock=True)
        answered = _answered(taken, current)
        reports, also = _sent_reports(answered, now, source, SENDING_FIELDS if held else ())
        message_outcomes_record(reports, also=also)
        for row, _, _, result in answered:
            if row.kind == "call":
                from channels_app.ivr.services import call_placed

                call_placed(message=row, provider_call_id=result.provider_id, at=now)
        simulated_outcomes_insert(_simulated_rows(_simulated(answered), now))
        _parked_apply(answered)
    return len(answered)


def _record_prepared(taken: Answered, now: datetime, source: str) -> bool:
    """SQLite: read the messages and work out their "sent" reports and the simulator's plans
    with reads only, then write them in one short transaction that checks first that no message
    moved meanwhile (a status webhook that came first; ``prepared_write``). False (nothing
    written) when one moved, when a send is a call (placing it writes its Call), or when working
    out needs a write (a workspace's first simulator settings): the caller then does it all
    inside the lock."""

    def prepare():
        current = _current(taken, lock=False)
        read = messages_read(current.values())
        answered = _answered(taken, current)
        if any(row.kind == "call" for row, *_ in answered):
            return None
        reports, also = _sent_reports(answered, now, source)
        return (
            read,
            answered,
            outcomes_plan(reports, also=also),
            _simulated_rows(_simulated(answered), now),
        )

    def write(prepared):
        read, answered, plan, simulated = prepared
        if not messages_unchanged(read):
            return None
        outcomes_write(plan)
        simulated_outcomes_insert(simulated)
        _parked_apply(answered)
        return True

    return prepared_write(prepare, write) is not None


def _current(taken: Answered, *, lock: bool) -> dict[int, Message]:
    """The rows as they are now (a status webhook may have come first), by id; locked on
    PostgreSQL when ``lock``."""
    rows = Message.objects.only(*Message.OUTCOME_FIELDS).filter(
        pk__in=[message.pk for message, *_ in taken]
    )
    if lock and connection.vendor == "postgresql":
        rows = rows.select_for_update(of=("self",), no_key=True).order_by("id")
    return {row.pk: row for row in rows}


def _answered(taken: Answered, current: dict[int, Message]) -> Answered:
    """Each answer with the current row in place of the caller's object (its customer and
    workspace are the ones the caller already holds), released and given its provider id."""
    answered = []
    for message, account, outbound, result in taken:
        row = current[message.pk]
        row.workspace = message.workspace
        if Message.customer.is_cached(message):
            row.customer = message.customer
        row.provider_id, row.claimed_by, row.claimed_at = result.provider_id, None, None
        answered.append((row, account, outbound, result))
    return answered


def _sent_reports(
    answered: Answered, now: datetime, source: str, marked: tuple[str, ...] = ()
) -> tuple[list, list]:
    """(reports, also) for ``message_outcomes_record`` / ``outcomes_plan``: "sent" for each,
    written with the provider id, the release of the claim and the ``marked`` fields."""
    reports = [
        OutcomeReport(row, "sent", now, f"{source}:{row.provider_kind}", raw=dict(result.raw))
        for row, _, _, result in answered
    ]
    fields = ("provider_id", "claimed_by", "claimed_at", *marked)
    return reports, [(row, fields) for row, *_ in answered]


def _simulated(answered: Answered) -> list[tuple[Message, OutboundMessage, str]]:
    return [
        (row, outbound, result.provider_id)
        for row, account, outbound, result in answered
        if adapter_in_database(account)
    ]


def _parked_apply(answered: Answered) -> None:
    from channels_app.webhooks.status import pending_statuses_apply_many

    pending_statuses_apply_many([row for row, *_ in answered])


def _simulated_rows(sends: list[tuple[Message, OutboundMessage, str]], now: datetime) -> list:
    """The planned outcome rows of these sends (reads only)."""
    if not sends:
        return []
    planned = set(
        SimulatedOutcome.objects.filter(message_id__in=[m.pk for m, *_ in sends])
        .values_list("message_id", flat=True)
        .distinct()
    )
    configs: dict[int, tuple] = {}
    rows = []
    for message, outbound, provider_id in sends:
        if message.pk in planned:
            continue
        if message.workspace_id not in configs:
            configs[message.workspace_id] = (
                simulator_config(workspace=message.workspace),
                manual_channels(message.workspace),
            )
        config, manual = configs[message.workspace_id]
        plan = simulator_plan(outbound, config)
        if message.channel in manual:
            plan = [p for p in plan if p.kind == "call" and p.status == "ringing"]
        events = plan_events(plan, msg=outbound, provider_id=provider_id, sent_at=now)
        rows += [
            [message.workspace_id, message.pk, now + step.offset, event.as_dict()]
            for step, event in zip(plan, events, strict=True)
        ]
    return rows


def simulated_outcomes_insert(rows: list) -> None:
    values_insert(SimulatedOutcome, ["workspace", "message", "due_at", "event"], rows)


def manual_channels(workspace) -> list[str]:
    """Channels whose customer side the operator plays in the phone view (no automatic plan)."""
    from channels_app.providers_console.services import simulator_settings

    return list(simulator_settings(workspace=workspace).config.get("manual_channels") or [])
