"""The provider-facing half of a send: the OutboundMessage for a row, and recording what the
provider answered (provider id, "sent", parked statuses, the simulator's planned outcomes)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from django.db import transaction

from channels_app.models.outbox import Message, SimulatedOutcome
from channels_app.models.providers import ProviderAccount
from channels_app.outbox.outcomes import message_outcome_record
from channels_app.outbox.spec import SendSpec, outbound_build
from channels_app.providers.base import OutboundMessage, SendResult
from channels_app.providers.simulator import plan_events, simulator_plan
from channels_app.providers_console.services import account_credentials, simulator_config
from channels_app.webhooks.paths import webhook_url

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
    from channels_app.webhooks.status import pending_statuses_apply

    with transaction.atomic():
        locked = Message.objects.select_for_update().select_related("customer", "workspace")
        message = locked.get(pk=message.pk)
        Message.objects.filter(pk=message.pk).update(
            provider_id=result.provider_id, claimed_by=None, claimed_at=None
        )
        message.provider_id = result.provider_id
        message_outcome_record(
            message=message,
            status="sent",
            at=now,
            source=f"{source}:{message.provider_kind}",
            raw=dict(result.raw),
        )
        if message.kind == "call":
            from channels_app.ivr.services import call_placed

            call_placed(message=message, provider_call_id=result.provider_id, at=now)
        if account is None or account.kind == "simulator":
            simulated_outcomes_plan(message, outbound, result.provider_id, now)
        pending_statuses_apply(message=message)


def simulated_outcomes_plan(
    message: Message, outbound: OutboundMessage, provider_id: str, now: datetime
) -> None:
    """Store the simulator's plan as due rows; a sweep posts them to our simulator webhook."""
    if SimulatedOutcome.objects.filter(message=message).exists():
        return  # planned by an earlier attempt
    plan = simulator_plan(outbound, simulator_config(workspace=message.workspace))
    if message.channel in manual_channels(message.workspace):
        plan = [p for p in plan if p.kind == "call" and p.status == "ringing"]
    events = plan_events(plan, msg=outbound, provider_id=provider_id, sent_at=now)
    SimulatedOutcome.objects.bulk_create(
        SimulatedOutcome(
            workspace=message.workspace,
            message=message,
            due_at=now + planned.offset,
            event=asdict(event),
        )
        for planned, event in zip(plan, events, strict=True)
    )


def manual_channels(workspace) -> list[str]:
    """Channels whose customer side the operator plays in the phone view (no automatic plan)."""
    from channels_app.providers_console.services import simulator_settings

    return list(simulator_settings(workspace=workspace).config.get("manual_channels") or [])
