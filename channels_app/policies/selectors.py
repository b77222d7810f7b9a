"""Reads of the send policy, and THE send decision every sender calls: ``send_decide``.

``send_decide`` gathers every input (consent, DND, preferences, template approval, the WhatsApp
service window, today's sends, echoes, the workspace policy) at one moment and hands them to the
pure ``channels_app.policy.decide_send``. It writes nothing (beyond creating the workspace's
default policy row on first use), so it is safe to call again at send time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction

from channels_app.models.policies import SendPolicy
from channels_app.policies import inputs
from channels_app.policies.schemas import PolicyConfig
from channels_app.policy import (
    DEFAULT_TZ,
    ChannelOption,
    Decision,
    EchoCheck,
    FrequencyCaps,
    SendCheck,
    SendWindow,
    best_channel,
    decide_send,
    zone_of,
)
from console.models import Customer, Workspace
from console.phones import PhoneError, phone_normalize

# A template's category can only make a message's purpose stricter, never laxer: a WhatsApp
# marketing template sent as "transactional" is still checked as promotional.
_PURPOSE_RANK = {"transactional": 0, "service": 1, "promotional": 2}
_CATEGORY_PURPOSE = {"marketing": "promotional", "promotional": "promotional", "service": "service"}


def policy_row(*, workspace: Workspace) -> SendPolicy:
    """The workspace's policy row, created with the defaults the first time it is asked for."""
    row = SendPolicy.objects.filter(workspace=workspace).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return SendPolicy.objects.create(workspace=workspace)
    except IntegrityError:  # created by a concurrent first read
        return SendPolicy.objects.get(workspace=workspace)


def policy_config_of(row: SendPolicy) -> PolicyConfig:
    return PolicyConfig.model_validate(
        {
            "promotional_daily_cap": row.promotional_daily_cap,
            "total_daily_cap": row.total_daily_cap,
            "echo_window_minutes": row.echo_window_minutes,
            "ncpr_category": row.ncpr_category,
            "send_windows": row.send_windows,
            "costs": row.costs,
        }
    )


def policy_get(*, workspace: Workspace) -> PolicyConfig:
    """The workspace's send policy (the defaults while no row is stored: reading writes
    nothing, so a batch prepared outside the write lock may read it); read once per batch
    inside ``inputs.batch_inputs``."""
    memo = inputs.batch_memo()
    key = ("policy", workspace.pk)
    if memo is not None and key in memo:
        return memo[key]
    row = SendPolicy.objects.filter(workspace=workspace).first()
    config = policy_config_of(row or SendPolicy(workspace=workspace))
    if memo is not None:
        memo[key] = config
    return config


def _customer_tz(customer: Customer) -> str:
    for tz in (customer.timezone, customer.workspace.timezone):
        try:
            return zone_of(tz).key
        except ValueError:
            continue
    return DEFAULT_TZ


def effective_purpose(purpose: str, template_category: str | None) -> str:
    implied = _CATEGORY_PURPOSE.get((template_category or "").lower(), purpose)
    return max(purpose, implied, key=lambda p: _PURPOSE_RANK.get(p, 0))


def _customer_facts(customer: Customer) -> dict:
    prefs = inputs.preferences_of(customer=customer)
    return {
        "quiet_hours": prefs.quiet_hours,
        "do_not_call": prefs.do_not_call,
        # No categories with dnd set means fully blocked (see SendCheck).
        "dnd": prefs.dnd,
        "dnd_blocked_categories": prefs.dnd_blocked_categories,
    }


def _policy_facts(config: PolicyConfig) -> dict:
    return {
        "workspace_category": config.ncpr_category,
        "caps": FrequencyCaps(config.promotional_daily_cap, config.total_daily_cap),
        "send_windows": tuple(
            SendWindow(w.channel, w.purpose, w.start, w.end) for w in config.send_windows
        ),
    }


def send_check_build(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    template_family: str | None = None,
    template_status: str | None = None,
    template_category: str | None = None,
    session_message: bool = False,
    at: datetime,
    collection: bool = False,
    message_id: int | None = None,
) -> SendCheck:
    """Every input of the decision, read at ``at``; see ``send_decide`` for the arguments."""
    config = policy_get(workspace=customer.workspace)
    purpose = effective_purpose(purpose, template_category)
    tz = _customer_tz(customer)
    echo = None
    if template_family and config.echo_window_minutes:
        window = timedelta(minutes=config.echo_window_minutes)
        last = inputs.echo_last_at(
            customer=customer,
            family=template_family,
            channel=channel,
            exclude_id=message_id,
            since=at - window,
        )
        echo = EchoCheck(last, window)
    last_inbound = None
    if channel == "whatsapp" and session_message:
        last_inbound = inputs.whatsapp_last_inbound_at(customer=customer, at=at)
    return SendCheck(
        now=at,
        channel=channel,
        purpose=purpose,
        consent=inputs.consent_status_at(
            customer=customer, channel=channel, purpose=purpose, at=at
        ),
        customer_tz=tz,
        collection_call=collection and channel == "voice",
        template_status=template_status,
        session_message=session_message,
        last_inbound_at=last_inbound,
        sent_today=inputs.sent_today(customer=customer, at=at, tz=tz, exclude_id=message_id),
        echo=echo,
        **_customer_facts(customer),
        **_policy_facts(config),
    )


def send_decide(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    template_family: str | None = None,
    template_status: str | None = None,
    template_category: str | None = None,
    session_message: bool = False,
    at: datetime,
    collection: bool = False,
    message_id: int | None = None,
) -> Decision:
    """May this message go to ``customer`` on ``channel`` at ``at`` (aware)? send / defer / block.

    ``purpose`` is transactional, service or promotional; a ``template_category`` of marketing
    (WhatsApp) or promotional (SMS DLT) makes it promotional. ``template_status`` is the approval
    status of the template version (WhatsApp templates must be approved; ignored for
    ``session_message``, a free-form WhatsApp reply, which needs an inbound message in the last 24
    hours instead). ``template_family`` names the content across channels for the no-echo rule.
    ``collection`` marks a collection/reminder call (08:00-19:00). ``message_id`` is the outbox
    row being re-checked at send time, left out of the cap and echo counts. Read-only.
    """
    return decide_send(
        send_check_build(
            customer=customer,
            channel=channel,
            purpose=purpose,
            template_family=template_family,
            template_status=template_status,
            template_category=template_category,
            session_message=session_message,
            at=at,
            collection=collection,
            message_id=message_id,
        )
    )


def reachable(customer: Customer, channel: str) -> bool:
    """WhatsApp needs a phone known to be on WhatsApp; SMS and voice need a phone."""
    if not customer.phone:
        return False
    return customer.whatsapp if channel == "whatsapp" else True


def channel_best(
    *,
    customer: Customer,
    purpose: str,
    candidates: Sequence[str] = ("whatsapp", "sms", "voice"),
    at: datetime,
    template_family: str | None = None,
    template_statuses: Mapping[str, str] | None = None,
) -> tuple[str | None, list[str]]:
    """The channel to use now: the customer's first preferred channel that is reachable and
    allowed, or without a stated preference the most engaged one; plus why others were passed.

    ``template_statuses`` maps a channel to its template's approval status; when None, template
    approval is left to the ``send_decide`` at send time (the choice is about the channel).
    """
    options = []
    for channel in candidates:
        status = "APPROVED" if template_statuses is None else template_statuses.get(channel)
        decision = send_decide(
            customer=customer,
            channel=channel,
            purpose=purpose,
            template_family=template_family,
            template_status=status,
            at=at,
        )
        options.append(ChannelOption(channel, reachable(customer, channel), decision))
    order = list(inputs.preferences_of(customer=customer).preferred_channels) or None
    engagement = None if order else inputs.engagement_scores(customer=customer)
    return best_channel(preference_order=order, candidates=options, engagement=engagement)


def message_cost_estimate(
    *,
    workspace: Workspace,
    channel: str,
    category: str,
    segments: int = 1,
    minutes: float = 0,
    inside_service_window: bool = False,
    provider: str | None = None,
) -> Decimal:
    """What one message is expected to cost (INR) under the workspace's cost table.

    SMS: rate of its DLT category x segments. WhatsApp: rate of its template category, free for
    free-form service replies and for utility templates inside the service window. Voice: rate per
    started minute. Without ``provider`` (or with one the table does not list), the dearest
    configured provider is assumed: an estimate should not promise less than the bill.
    Unknown channel or category: ValueError.
    """
    costs = policy_get(workspace=workspace).costs.get(channel, {})
    category = category.lower()
    if channel == "whatsapp" and (
        category == "service" or (category == "utility" and inside_service_window)
    ):
        return Decimal("0.0000")
    if channel == "voice":
        category, units = "minute", Decimal(math.ceil(minutes))
    else:
        units = Decimal(max(1, segments)) if channel == "sms" else Decimal(1)
    tables = [costs[provider]] if provider in costs else list(costs.values())
    rates = [table[category] for table in tables if category in table]
    if not rates:
        raise ValueError(f"No {channel} cost is set for '{category}'; add it on the Policies page.")
    return (max(rates) * units).quantize(Decimal("0.0001"))


def customer_find(*, workspace: Workspace, text: str) -> Customer | None:
    """A customer of ``workspace`` by external id, else by phone (any format we can normalise)."""
    text = text.strip()
    customer = Customer.objects.filter(workspace=workspace, external_id=text).first()
    if customer is not None or not text:
        return customer
    try:
        phone = phone_normalize(text)
    except PhoneError:
        return None
    return Customer.objects.filter(workspace=workspace, phone=phone).order_by("id").first()
