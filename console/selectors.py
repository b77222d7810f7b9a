"""Reads for the console: customer search with keyset pagination (no COUNT over the table)."""

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from console.models import Customer, Workspace
from console.phones import phone_search_key

PAGE_SIZE = 50
# No double underscores: the name becomes part of an ORM lookup path.
ATTRIBUTE_FILTER_RE = re.compile(r"^[A-Za-z](?:_?[A-Za-z0-9])*$")


@dataclass(frozen=True)
class CustomerPage:
    rows: list[Customer]
    next_after: int | None


def customer_search_conditions(text: str) -> list[Q]:
    """Name prefix (case-insensitive), external id prefix, or a phone number in any format.

    Each condition is an index range scan (`name_key >= q AND name_key < q + U+FFFF`, no LIKE);
    they are queried one by one and merged, because an OR across columns makes both SQLite and
    PostgreSQL fall back to scanning the table in id order.
    """
    text = text.strip()
    if not text:
        return []
    key = text.lower()
    conditions = [
        Q(name_key__gte=key, name_key__lt=key + "\uffff"),
        Q(external_id__gte=text, external_id__lt=text + "\uffff"),
    ]
    phone = phone_search_key(text)
    if phone:
        conditions.append(Q(phone=phone))
    return conditions


def _merged(
    qs: QuerySet[Customer], conditions: list[Q], order: tuple[str, ...], limit: int
) -> list[Customer]:
    """Up to `limit` rows matching any condition, in `order`, one indexed query per condition."""
    if not conditions:
        return list(qs.order_by(*order)[:limit])
    found: dict[int, Customer] = {}
    for condition in conditions:
        for row in qs.filter(condition).order_by(*order)[:limit]:
            found[row.id] = row
    field = order[0].lstrip("-")
    rows = sorted(
        found.values(), key=lambda c: (getattr(c, field), c.id), reverse=order[0].startswith("-")
    )
    return rows[:limit]


def customer_page(
    *,
    workspace: Workspace,
    text: str = "",
    attribute: str = "",
    value: str = "",
    after: int | None = None,
) -> CustomerPage:
    """One page of customers, newest first; `after` is the last id of the previous page."""
    qs = Customer.objects.filter(workspace=workspace)
    if attribute:
        if not ATTRIBUTE_FILTER_RE.match(attribute):
            raise ValueError("Attribute names hold only letters, digits and single underscores.")
        typed = _attribute_value(value)
        cond = Q(**{f"attributes__{attribute}": value})
        if typed != value:
            cond |= Q(**{f"attributes__{attribute}": typed})
        qs = qs.filter(cond)
    if after:
        qs = qs.filter(id__lt=after)
    rows = _merged(qs, customer_search_conditions(text), ("-id",), PAGE_SIZE + 1)
    next_after = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return CustomerPage(rows=rows[:PAGE_SIZE], next_after=next_after)


def _attribute_value(value: str):
    """Attribute filters compare typed JSON: `true`, `12`, `12.5` match booleans and numbers."""
    lowered = value.strip().lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def customer_quick_search(*, workspace: Workspace, text: str, limit: int = 8) -> list[Customer]:
    if len(text.strip()) < 2:
        return []
    qs = Customer.objects.filter(workspace=workspace)
    return _merged(qs, customer_search_conditions(text), ("name_key", "id"), limit)
