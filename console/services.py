"""Writes for workspaces, customers, events and API keys. Each function is one transaction."""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from console.audit import audit_record
from console.db import values_insert_returning
from console.live import live_publish
from console.models import ApiKey, Customer, Event, Workspace
from console.schemas import CustomerFields, CustomerIn, EventIn, validation_fields

# --- customers --------------------------------------------------------------------------------


def customer_public(customer: Customer) -> dict[str, Any]:
    return {
        "external_id": customer.external_id,
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "language": customer.language,
        "timezone": customer.timezone,
        "whatsapp": customer.whatsapp,
        "attributes": customer.attributes,
        "created_at": customer.created_at.isoformat(),
        "updated_at": customer.updated_at.isoformat(),
    }


def _apply_fields(customer: Customer, data: CustomerFields) -> None:
    """Copy the fields the caller sent; attributes merge, and a null attribute deletes the key."""
    sent = data.model_fields_set
    for name in ("name", "phone", "email", "language", "timezone", "whatsapp"):
        if name in sent and getattr(data, name) is not None:
            setattr(customer, name, getattr(data, name))
    if "attributes" in sent and data.attributes is not None:
        merged = dict(customer.attributes or {})
        for key, value in data.attributes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        customer.attributes = merged
    customer.name_key = (customer.name or "").strip().lower()


def customer_upsert(*, workspace: Workspace, data: CustomerIn) -> tuple[Customer, bool]:
    """Create or update one customer by external id. Locks the row; safe to retry."""
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update()
            .filter(workspace=workspace, external_id=data.external_id)
            .first()
        )
        created = customer is None
        if created:
            customer = Customer(workspace=workspace, external_id=data.external_id)
        _apply_fields(customer, data)
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            # Another request created it between our read and write: update theirs instead.
            customer = Customer.objects.select_for_update().get(
                workspace=workspace, external_id=data.external_id
            )
            created = False
            _apply_fields(customer, data)
            customer.save()
        live_publish(f"customer:{customer.id}", kind="profile")
    return customer, created


def customers_upsert_batch(*, workspace: Workspace, items: list[dict]) -> list[dict[str, Any]]:
    """Upsert up to 1,000 customers; a bad item is reported and changes nothing, the rest land."""
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        for index, raw in enumerate(items):
            try:
                data = CustomerIn.model_validate(raw)
            except ValidationError as exc:
                results.append(_item_error(index, exc.errors()))
                continue
            customer, created = customer_upsert(workspace=workspace, data=data)
            results.append(
                {
                    "index": index,
                    "status": "created" if created else "updated",
                    "external_id": customer.external_id,
                }
            )
    return results


def customer_attributes_set(
    *, customer: Customer, attributes: dict[str, Any], actor, ip=None
) -> Customer:
    """Replace a customer's attributes from the console, with an audit entry."""
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        before = dict(locked.attributes or {})
        locked.attributes = attributes
        locked.save(update_fields=["attributes", "updated_at"])
        audit_record(
            workspace=locked.workspace,
            actor=actor,
            action="customer.attributes",
            target_type="customer",
            target_id=locked.external_id,
            summary=f"Changed attributes of {locked}",
            before=before,
            after=attributes,
            ip=ip,
        )
        live_publish(f"customer:{locked.id}", kind="profile")
    return locked


def _item_error(index: int, errors: list[dict]) -> dict[str, Any]:
    return {
        "index": index,
        "status": "error",
        "error": "validation_error",
        "fields": validation_fields(errors),
    }


# --- events -----------------------------------------------------------------------------------

# Called after commit with the ids of newly stored events (journeys enrol from here).
_EVENTS_COMMITTED: list[Callable[[list[int]], None]] = []


def _after_commit(callback: Callable[[], None]) -> None:
    """transaction.on_commit; tests that hold one transaction open swap it for a direct call."""
    transaction.on_commit(callback)


def events_committed_register(listener: Callable[[list[int]], None]) -> None:
    if listener not in _EVENTS_COMMITTED:
        _EVENTS_COMMITTED.append(listener)


@dataclass
class EventOutcome:
    index: int
    status: str  # created | duplicate | error
    id: int | None = None
    error: str = ""
    detail: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.id is not None:
            out["id"] = self.id
            out["duplicate"] = self.status == "duplicate"
        if self.status == "error":
            out.update(error=self.error, detail=self.detail, fields=self.fields)
        return out


def _customers_for(workspace: Workspace, events: list[tuple[int, EventIn]]) -> dict[str, Customer]:
    """Existing customers by external id, creating inline the unknown ones that carry a phone."""
    ids = {e.customer.external_id for _, e in events}
    found = {
        c.external_id: c
        for c in Customer.objects.filter(workspace=workspace, external_id__in=ids).only(
            "id", "workspace_id", "external_id"
        )
    }
    for _, event in events:
        ref = event.customer
        if ref.external_id in found or not ref.phone:
            continue
        customer = Customer(workspace=workspace, external_id=ref.external_id)
        _apply_fields(customer, ref)
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError:
            customer = Customer.objects.get(workspace=workspace, external_id=ref.external_id)
        found[ref.external_id] = customer
    return found


def events_ingest(
    *, workspace: Workspace, items: list[dict], source: str = "api", all_or_nothing: bool = False
) -> list[EventOutcome]:
    """Validate and store events in one transaction; the same event_id twice is stored once.

    Bad items are reported per index and store nothing; with `all_or_nothing` any bad item
    stores nothing at all. Listeners run after commit with the new event ids.
    """
    outcomes: list[EventOutcome] = [
        EventOutcome(index=i, status="pending") for i in range(len(items))
    ]
    parsed: list[tuple[int, EventIn]] = []
    for index, raw in enumerate(items):
        try:
            parsed.append((index, EventIn.model_validate(raw)))
        except ValidationError as exc:
            outcomes[index] = EventOutcome(
                index,
                "error",
                error="validation_error",
                detail="The event is invalid; see fields.",
                fields=validation_fields(exc.errors()),
            )
    if all_or_nothing and len(parsed) < len(items):
        return [o if o.status == "error" else EventOutcome(o.index, "skipped") for o in outcomes]
    with transaction.atomic():
        customers = _customers_for(workspace, parsed)
        storable = []
        for index, event in parsed:
            if event.customer.external_id not in customers:
                outcomes[index] = EventOutcome(
                    index,
                    "error",
                    error="unknown_customer",
                    detail="No customer has this external_id; send customer.phone to create one.",
                    fields={
                        "customer.external_id": [
                            f"Unknown customer '{event.customer.external_id}'. Create it first or include "
                            "customer.phone to create it with the event."
                        ]
                    },
                )
            else:
                storable.append((index, event))
        if all_or_nothing and len(storable) < len(parsed):
            transaction.set_rollback(True)
            return [
                o if o.status == "error" else EventOutcome(o.index, "skipped") for o in outcomes
            ]
        new_ids = _events_store(workspace, storable, customers, source, outcomes)
    _listeners_after_commit(new_ids)
    return outcomes


def _events_store(workspace, storable, customers, source, outcomes) -> list[int]:
    pending = [
        (
            index,
            KnownEvent(
                event.event_id,
                customers[event.customer.external_id].pk,
                event.name,
                event.properties,
                event.occurred_at,
            ),
        )  # fmt: skip
        for index, event in storable
    ]
    return _known_store(workspace, pending, source, outcomes)


@dataclass(frozen=True)
class KnownEvent:
    """An event the product records itself for a customer it already holds (a channel outcome):
    nothing to validate and no customer to look up, unlike an API item."""

    key: str
    customer_id: int
    name: str
    properties: dict[str, Any]
    occurred_at: Any = None  # an aware datetime; None: now


def events_record(
    *, workspace: Workspace, events: list[KnownEvent], source: str = "channel"
) -> list[int]:
    """Store the product's own events (``events_ingest`` without validation and customer
    lookup); the same key twice is stored once. Returns the new ids; the listeners run after
    the outermost commit, as for ``events_ingest``."""
    if not events:
        return []
    outcomes = [EventOutcome(index=i, status="pending") for i in range(len(events))]
    with transaction.atomic():
        new_ids = _known_store(workspace, list(enumerate(events)), source, outcomes)
    _listeners_after_commit(new_ids)
    return new_ids


def _listeners_after_commit(new_ids: list[int]) -> None:
    if new_ids:
        # After the OUTERMOST commit: a caller (a webhook, the dispatcher) may hold a transaction
        # around this one, and a listener's task must never see events that could roll back.
        for listener in list(_EVENTS_COMMITTED):
            _after_commit(lambda listener=listener: listener(new_ids))


EVENT_FIELDS = ["workspace", "customer", "name", "properties", "occurred_at", "received_at",
                "source", "idempotency_key"]  # fmt: skip


def _known_store(workspace, pending: list[tuple[int, KnownEvent]], source, outcomes) -> list[int]:
    """One ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` stores the new keys and names their
    ids; only keys already stored (or stored by a concurrent request first) are looked up, to
    report them as duplicates."""
    now = timezone.now()
    rows, first_index, repeats = [], {}, {}
    for index, event in pending:
        if event.key in first_index:  # repeated inside this batch
            repeats[index] = first_index[event.key]
            continue
        first_index[event.key] = index
        rows.append([workspace.pk, event.customer_id, event.name, event.properties,
                     event.occurred_at or now, now, source, event.key])  # fmt: skip
    created = dict(values_insert_returning(Event, EVENT_FIELDS, rows, ["idempotency_key", "id"]))
    existing = _stored_ids(workspace, [key for key in first_index if key not in created])
    new_ids = []
    for key, index in first_index.items():
        if key in created:
            outcomes[index] = EventOutcome(index, "created", id=created[key])
            new_ids.append(created[key])
        else:
            outcomes[index] = EventOutcome(index, "duplicate", id=existing.get(key))
    for index, first in repeats.items():
        outcomes[index] = EventOutcome(index, "duplicate", id=outcomes[first].id)
    for customer_id in sorted({row[1] for row in rows if row[-1] in created}):
        live_publish(f"customer:{customer_id}", kind="timeline")
    live_publish(f"workspace:{workspace.id}", kind="events")
    return new_ids


def _stored_ids(workspace: Workspace, keys: list[str]) -> dict[str, int]:
    """Event id per idempotency key, for the keys already stored in ``workspace``."""
    if not keys:
        return {}
    rows = Event.objects.filter(workspace=workspace, idempotency_key__in=keys)
    return dict(rows.values_list("idempotency_key", "id"))


# --- API keys ---------------------------------------------------------------------------------

KEY_PREFIX = "sgm_"


def apikey_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_create(
    *, workspace: Workspace, name: str, actor=None, secret: str | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored."""
    secret = secret or KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            workspace=workspace,
            name=name,
            prefix=secret[:12],
            digest=apikey_digest(secret),
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(
            workspace=workspace,
            actor=actor,
            action="apikey.create",
            target_type="apikey",
            target_id=key.pk,
            summary=f"Created API key '{name}' ({key.prefix}…)",
            after={"name": name, "prefix": key.prefix},
        )
    return key, secret


def apikey_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(
                workspace=key.workspace,
                actor=actor,
                action="apikey.revoke",
                target_type="apikey",
                target_id=key.pk,
                summary=f"Revoked API key '{key.name}' ({key.prefix}…)",
            )
    return key


def apikey_authenticate(secret: str) -> ApiKey | None:
    """The active key for a presented secret; records its use at most once a minute."""
    key = ApiKey.objects.select_related("workspace").filter(digest=apikey_digest(secret)).first()
    if key is None or key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
