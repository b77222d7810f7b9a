"""Writes for consent, preferences and DND. Each function is one transaction with an audit entry.

Every change publishes `customer:<id>` (kind "consent") after commit, so open customer pages and
their timelines refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.consent.schemas import (
    ConsentError,
    ConsentIn,
    DndIn,
    PreferencesIn,
    schema_parse,
)
from channels_app.consent_ledger import keyword_action
from channels_app.models.consent import ConsentEntry, CustomerPreference
from console.audit import audit_record
from console.live import live_publish
from console.models import Customer
from console.schemas import CustomerIn
from console.services import customer_upsert

CHANNEL_LABELS = {"sms": "SMS", "whatsapp": "WhatsApp", "voice": "voice"}
# A grant stamped a little ahead of our clock (a form server's time) is still accepted.
_CLOCK_SKEW = timedelta(minutes=5)


def _actor_label(actor, actor_label: str) -> str:
    if actor_label:
        return actor_label[:150]
    return actor.get_username()[:150] if actor is not None else "system"


def consent_entry_summary(entry: ConsentEntry) -> str:
    verb = "granted" if entry.status == "granted" else "withdrawn"
    text = f"{CHANNEL_LABELS[entry.channel]} {entry.purpose} consent {verb} ({entry.source})"
    detail = entry.reason or entry.proof
    return f"{text}: {detail}" if detail else text


def consent_entry_public(entry: ConsentEntry) -> dict:
    return {
        "id": entry.id,
        "channel": entry.channel,
        "purpose": entry.purpose,
        "status": entry.status,
        "source": entry.source,
        "proof": entry.proof,
        "reason": entry.reason,
        "actor": entry.actor_label,
        "at": entry.at.isoformat(),
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
    }


def consent_record(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    status: str,
    source: str,
    proof: str = "",
    reason: str = "",
    actor=None,
    actor_label: str = "",
    at: datetime | None = None,
    expires_at: datetime | None = None,
    ip: str | None = None,
    import_job=None,
) -> ConsentEntry:
    """Append one ledger entry (validated; ConsentError names bad fields), audit it, announce it.

    One transaction: the entry and its audit record land together or not at all. Not idempotent:
    a retry appends a second, identical entry, which leaves the derived state unchanged.
    """
    data = schema_parse(
        ConsentIn,
        {
            "channel": channel,
            "purpose": purpose,
            "status": status,
            "source": source,
            "proof": proof or "",
            "reason": reason or "",
            "at": at,
            "expires_at": expires_at,
        },
    )
    return consent_append(
        customer=customer,
        data=data,
        actor=actor,
        actor_label=actor_label,
        ip=ip,
        import_job=import_job,
    )


def consent_append(
    *,
    customer: Customer,
    data: ConsentIn,
    actor=None,
    actor_label: str = "",
    ip: str | None = None,
    import_job=None,
    audited: bool = True,
) -> ConsentEntry:
    """consent_record for input already parsed. ``audited=False`` is for CSV imports, which
    write one audit entry per file and announce progress on the import instead."""
    at = data.at or timezone.now()
    if at > timezone.now() + _CLOCK_SKEW:
        raise ConsentError({"at": ["Consent cannot be recorded in the future; give a past time."]})
    if data.expires_at is not None and data.expires_at <= at:
        raise ConsentError({"expires_at": ["The expiry must be after the time of the grant."]})
    with transaction.atomic():
        entry = ConsentEntry.objects.create(
            workspace_id=customer.workspace_id,
            customer=customer,
            channel=data.channel,
            purpose=data.purpose,
            status=data.status,
            source=data.source,
            proof=data.proof,
            reason=data.reason,
            actor=actor if actor is not None and actor.pk else None,
            actor_label=_actor_label(actor, actor_label),
            at=at,
            expires_at=data.expires_at,
            import_job=import_job,
        )
        if audited:
            audit_record(
                workspace=customer.workspace,
                actor=actor,
                actor_label=entry.actor_label,
                action=f"consent.{data.status}",
                target_type="customer",
                target_id=customer.external_id,
                summary=f"{customer}: {consent_entry_summary(entry)}",
                after=consent_entry_public(entry),
                ip=ip,
            )
            live_publish(f"customer:{customer.id}", kind="consent")
    return entry


def consent_grant(
    *, customer: Customer, channel: str, purpose: str, source: str, **kwargs
) -> ConsentEntry:
    """Record a grant. Support staff (source "support") must give a reason."""
    return consent_record(
        customer=customer,
        channel=channel,
        purpose=purpose,
        status="granted",
        source=source,
        **kwargs,
    )


def consent_withdraw(
    *, customer: Customer, channel: str, purpose: str, source: str, **kwargs
) -> ConsentEntry:
    """Record a withdrawal. Support staff (source "support") must give a reason."""
    return consent_record(
        customer=customer,
        channel=channel,
        purpose=purpose,
        status="withdrawn",
        source=source,
        **kwargs,
    )


# --- keywords -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordResult:
    """What an inbound keyword did, and the confirmation to send back (the outbox sends it)."""

    action: str  # "withdraw" or "grant"
    entry: ConsentEntry
    confirmation: str
    language: str


CONFIRMATIONS = {
    ("withdraw", "en"): "You will no longer receive promotional {channel} messages from {brand}. "
    "Reply START to subscribe again.",
    ("withdraw", "hi"): "अब आपको {brand} से प्रचार वाले {channel} संदेश नहीं मिलेंगे। "
    "दोबारा पाने के लिए START भेजें।",
    ("grant", "en"): "You are subscribed again to promotional {channel} messages from {brand}. "
    "Reply STOP to unsubscribe.",
    ("grant", "hi"): "आपको {brand} से प्रचार वाले {channel} संदेश फिर से मिलेंगे। बंद करने के लिए STOP भेजें।",
}


def consent_keyword_apply(*, customer: Customer, channel: str, text: str) -> KeywordResult | None:
    """Apply an inbound STOP/START-style keyword to promotional consent on that channel.

    Returns None when the text is not only a keyword (an ordinary reply). The confirmation is
    returned, not sent: a confirmation of a withdrawal is a service message, which the sender
    may deliver even though promotional consent is now withdrawn.
    """
    action = keyword_action(text, customer.language)
    if action is None:
        return None
    proof = f"Inbound {CHANNEL_LABELS[channel]} message: {text.strip()[:200]!r}"
    entry = consent_record(
        customer=customer,
        channel=channel,
        purpose="promotional",
        status="withdrawn" if action == "withdraw" else "granted",
        source="keyword",
        proof=proof,
        actor_label="customer (keyword)",
    )
    language = "hi" if customer.language == "hi" else "en"
    template = CONFIRMATIONS[(action, language)]
    confirmation = template.format(channel=CHANNEL_LABELS[channel], brand=customer.workspace.name)
    return KeywordResult(action=action, entry=entry, confirmation=confirmation, language=language)


# --- preferences and DND --------------------------------------------------------------------


def _preference_locked(customer: Customer) -> CustomerPreference:
    CustomerPreference.objects.get_or_create(
        customer=customer, defaults={"workspace_id": customer.workspace_id}
    )
    return CustomerPreference.objects.select_for_update().get(customer=customer)


def preference_public(pref: CustomerPreference | None, customer: Customer) -> dict:
    return {
        "preferred_channels": list(pref.preferred_channels) if pref else [],
        "language": customer.language,
        "quiet_hours": (
            {"start": pref.quiet_start.strftime("%H:%M"), "end": pref.quiet_end.strftime("%H:%M")}
            if pref and pref.quiet_start is not None and pref.quiet_end is not None
            else None
        ),
        "do_not_call": bool(pref and pref.do_not_call),
        "updated_at": pref.updated_at.isoformat() if pref else None,
    }


def dnd_public(pref: CustomerPreference | None) -> dict:
    return {
        "dnd": bool(pref and pref.dnd),
        "categories": list(pref.dnd_categories) if pref else [],
        "source": pref.dnd_source if pref else "",
        "updated_at": pref.dnd_updated_at.isoformat() if pref and pref.dnd_updated_at else None,
    }


def preferences_set(
    *,
    customer: Customer,
    changes: dict,
    actor=None,
    actor_label: str = "",
    ip: str | None = None,
    audited: bool = True,
) -> CustomerPreference:
    """Change the given preference fields (PreferencesIn; ConsentError names bad ones).

    Locks the customer's preference row. The language is stored on the customer itself.
    ``audited=False`` is for CSV imports (one audit entry per file).
    """
    data = schema_parse(PreferencesIn, changes)
    sent = data.model_fields_set
    with transaction.atomic():
        pref = _preference_locked(customer)
        before = preference_public(pref, customer)
        if "preferred_channels" in sent and data.preferred_channels is not None:
            pref.preferred_channels = data.preferred_channels
        if "quiet_start" in sent:
            pref.quiet_start, pref.quiet_end = data.quiet_start, data.quiet_end
        if "do_not_call" in sent and data.do_not_call is not None:
            pref.do_not_call = data.do_not_call
        if data.language and data.language != customer.language:
            customer, _ = customer_upsert(
                workspace=customer.workspace,
                data=CustomerIn(external_id=customer.external_id, language=data.language),
            )
        pref.updated_by = actor if actor is not None and actor.pk else None
        pref.updated_by_label = _actor_label(actor, actor_label)
        pref.save()
        if audited:
            audit_record(
                workspace=customer.workspace,
                actor=actor,
                actor_label=pref.updated_by_label,
                action="consent.preferences",
                target_type="customer",
                target_id=customer.external_id,
                summary=f"Changed preferences of {customer}",
                before=before,
                after=preference_public(pref, customer),
                ip=ip,
            )
            live_publish(f"customer:{customer.id}", kind="consent")
    return pref


def dnd_set(
    *,
    customer: Customer,
    dnd: bool,
    categories: list[int] | None = None,
    source: str = "",
    actor=None,
    actor_label: str = "",
    ip: str | None = None,
    audited: bool = True,
) -> CustomerPreference:
    """Record the customer's NCPR/DND registration: blocked categories 1-8, none = fully blocked."""
    data = schema_parse(DndIn, {"dnd": dnd, "categories": categories or [], "source": source})
    with transaction.atomic():
        pref = _preference_locked(customer)
        before = dnd_public(pref)
        pref.dnd, pref.dnd_categories = data.dnd, data.categories
        pref.dnd_source = data.source
        pref.dnd_updated_at = timezone.now()
        pref.updated_by = actor if actor is not None and actor.pk else None
        pref.updated_by_label = _actor_label(actor, actor_label)
        pref.save()
        if audited:
            audit_record(
                workspace=customer.workspace,
                actor=actor,
                actor_label=pref.updated_by_label,
                action="consent.dnd",
                target_type="customer",
                target_id=customer.external_id,
                summary=f"Set DND of {customer} to {'on' if data.dnd else 'off'}",
                before=before,
                after=dnd_public(pref),
                ip=ip,
            )
            live_publish(f"customer:{customer.id}", kind="consent")
    return pref
