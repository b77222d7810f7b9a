"""The append-only audit log: one function writes it, one reads it."""

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from console.models import AuditEntry, Workspace


def audit_record(
    *,
    workspace: Workspace | None,
    action: str,
    actor=None,
    actor_label: str = "",
    target_type: str = "",
    target_id: Any = "",
    summary: str = "",
    before: Any = None,
    after: Any = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry. Call inside the transaction of the change it records."""
    label = actor_label or (actor.get_username() if actor is not None else "system")
    return AuditEntry.objects.create(
        workspace=workspace,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=label[:150],
        action=action,
        target_type=target_type,
        target_id=str(target_id or ""),
        summary=summary[:300],
        before=before,
        after=after,
        ip=ip,
        at=timezone.now(),
    )


def audit_list(
    *,
    workspace: Workspace,
    action: str = "",
    actor: str = "",
    target: str = "",
    before_id: int | None = None,
) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.filter(workspace=workspace).order_by("-id")
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor_label__iexact=actor)
    if target:
        qs = qs.filter(target_type=target)
    if before_id:
        qs = qs.filter(id__lt=before_id)
    return qs


def request_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None
