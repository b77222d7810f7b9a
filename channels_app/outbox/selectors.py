"""Reads of the outbox: the searchable message log (keyset pages, newest first) and one message
with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from channels_app.models.outbox import Message, MessageStatusChange
from console.models import Workspace

PAGE_SIZE = 50


@dataclass(frozen=True)
class LogFilters:
    channel: str = ""
    status: str = ""
    template: str = ""
    customer: str = ""
    run: str = ""
    provider: str = ""
    since: str = ""
    until: str = ""
    error: str = ""
    before: int | None = None

    @classmethod
    def from_query(cls, query) -> LogFilters:
        before = query.get("before", "")
        values = {k: query.get(k, "").strip() for k in cls.__dataclass_fields__ if k != "before"}
        return cls(**values, before=int(before) if before.isdigit() else None)


def _day(value: str, end: bool) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    return timezone.make_aware(moment)


def _customer_q(text: str) -> Q:
    if text.isdigit() and len(text) < 9:
        return Q(customer_id=int(text))
    return Q(customer__external_id=text) | Q(to_number__endswith=text.lstrip("+").lstrip("0"))


def message_log(*, workspace: Workspace, filters: LogFilters) -> tuple[list[Message], int | None]:
    """One page of the log and the ``before`` id of the next page (None at the end)."""
    qs: QuerySet[Message] = Message.objects.filter(workspace=workspace)
    exact = {
        "channel": filters.channel,
        "status": filters.status,
        "template_key": filters.template,
        "provider_kind": filters.provider,
    }
    qs = qs.filter(**{k: v for k, v in exact.items() if v})
    if filters.customer:
        qs = qs.filter(_customer_q(filters.customer))
    if filters.run.isdigit():
        qs = qs.filter(run_id=int(filters.run))
    if filters.error:
        qs = qs.filter(Q(error_reason__icontains=filters.error) | Q(error_code=filters.error))
    if start := _day(filters.since, end=False):
        qs = qs.filter(created_at__gte=start)
    if end := _day(filters.until, end=True):
        qs = qs.filter(created_at__lt=end)
    if filters.before:
        qs = qs.filter(pk__lt=filters.before)
    rows = list(qs.select_related("customer").order_by("-id")[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, rows[-1].pk if more and rows else None


def message_history(message: Message) -> list[MessageStatusChange]:
    return list(message.status_changes.order_by("recorded_at", "id"))
