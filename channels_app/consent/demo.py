"""Demo consent and preferences for the demo workspace (registered with console.demo)."""

from __future__ import annotations

import random
from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.models.consent import ConsentEntry, CustomerPreference
from console.models import Customer, Workspace

ORDERS = [
    ["whatsapp", "sms", "voice"],
    ["sms", "whatsapp"],
    ["whatsapp", "sms"],
    ["voice", "sms"],
    ["sms"],
]
QUIET = [(time(22, 0), time(8, 0)), (time(21, 0), time(9, 0)), (time(13, 0), time(15, 0))]


def _entry(
    customer: Customer, channel, purpose, status, source, proof, at, reason="", actor="demo"
):
    return ConsentEntry(
        workspace_id=customer.workspace_id,
        customer=customer,
        channel=channel,
        purpose=purpose,
        status=status,
        source=source,
        proof=proof,
        reason=reason,
        actor_label=actor,
        at=at,
    )


def _customer_entries(customer: Customer, rng: random.Random, now) -> list[ConsentEntry]:
    signed_up = now - timedelta(days=rng.randrange(30, 400), minutes=rng.randrange(0, 1440))
    entries = []
    if rng.random() < 0.92:  # implied by the account terms accepted at sign-up
        for channel in ("sms", "whatsapp", "voice"):
            entries.append(
                _entry(
                    customer,
                    channel,
                    "transactional",
                    "granted",
                    "form",
                    "Implied: account terms v3 accepted at sign-up",
                    signed_up,
                )
            )
        service = [
            ("sms", "Implied: existing customer relationship"),
            ("voice", "Implied: existing customer relationship"),
        ]
        if customer.whatsapp:  # order and account updates need the WhatsApp opt-in
            service.append(("whatsapp", "WhatsApp opt-in for order and account updates at sign-up"))
        for channel, proof in service:
            entries.append(
                _entry(customer, channel, "service", "granted", "form", proof, signed_up)
            )
    if customer.whatsapp and rng.random() < 0.7:
        opted = signed_up + timedelta(days=rng.randrange(0, 20))
        entries.append(
            _entry(
                customer,
                "whatsapp",
                "promotional",
                "granted",
                "form",
                f"Checkout opt-in checkbox, order #{rng.randrange(50000, 99999)}",
                opted,
            )
        )
        if rng.random() < 0.08:  # some later replied STOP
            entries.append(
                _entry(
                    customer,
                    "whatsapp",
                    "promotional",
                    "withdrawn",
                    "keyword",
                    "Inbound WhatsApp message: 'STOP'",
                    opted + timedelta(days=rng.randrange(1, 25)),
                    actor="customer (keyword)",
                )
            )
    if rng.random() < 0.45:
        at = signed_up + timedelta(days=rng.randrange(1, 30))
        entries.append(
            _entry(
                customer,
                "sms",
                "promotional",
                "granted",
                "ivr",
                f"IVR opt-in, call CA{rng.randrange(10**7, 10**8)}",
                at,
            )
        )
        if rng.random() < 0.1:
            entries.append(
                _entry(
                    customer,
                    "sms",
                    "promotional",
                    "withdrawn",
                    "keyword",
                    "Inbound SMS message: 'बंद'",
                    at + timedelta(days=rng.randrange(1, 30)),
                    actor="customer (keyword)",
                )
            )
    return entries


def _preference(customer: Customer, rng: random.Random, now) -> CustomerPreference | None:
    dnd = rng.random() < 0.1
    stated = rng.random() < 0.55
    if not (dnd or stated):
        return None
    quiet = rng.choice(QUIET) if stated and rng.random() < 0.25 else (None, None)
    return CustomerPreference(
        workspace_id=customer.workspace_id,
        customer=customer,
        preferred_channels=rng.choice(ORDERS) if stated else [],
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        do_not_call=stated and rng.random() < 0.06,
        dnd=dnd,
        dnd_categories=sorted(rng.sample(range(1, 9), rng.randrange(1, 3)))
        if dnd and rng.random() < 0.5
        else [],
        dnd_source="NCPR scrub (demo)" if dnd else "",
        dnd_updated_at=now - timedelta(days=rng.randrange(1, 90)) if dnd else None,
        updated_by_label="demo",
    )


def consent_demo_seed(workspace: Workspace, rng: random.Random) -> None:
    """Varied consent and preferences across the demo customers; does nothing if already seeded."""
    if ConsentEntry.objects.filter(workspace=workspace).exists():
        return
    now = timezone.now()
    entries, prefs = [], []
    for customer in Customer.objects.filter(workspace=workspace).order_by("id").iterator():
        entries.extend(_customer_entries(customer, rng, now))
        pref = _preference(customer, rng, now)
        if pref is not None:
            prefs.append(pref)
    with transaction.atomic():
        ConsentEntry.objects.bulk_create(entries, batch_size=1000)
        CustomerPreference.objects.bulk_create(prefs, batch_size=1000, ignore_conflicts=True)
