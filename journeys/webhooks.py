"""Webhook nodes' outbound calls, made after commit by a task.

Refused before any connection: hosts not on the workspace allow-list, and names that resolve to a
private, loopback, link-local, reserved or multicast address (DNS can point an allowed name inside
the network), checked just before the request; the request has a timeout and follows no
redirects. (Pinning the connection to the checked address is left for later: a DNS answer that
changes between the check and the connect could still slip through.) The result returns to the
run as a WebhookResult input.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from django.db import transaction

from journeys.clock import clock_now, real_now
from journeys.engine.nodes.webhook import url_problem
from journeys.models import Run, RunInput, WebhookDelivery
from journeys.selectors import webhook_hosts


class WebhookRefused(Exception):
    pass


def address_check(host: str, port: int = 443) -> str:
    """A public address of ``host``; raises WebhookRefused if any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise WebhookRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = {info[4][0] for info in infos}
    for raw in addresses:
        address = ipaddress.ip_address(raw.split("%")[0])
        if not address.is_global or address.is_multicast:
            raise WebhookRefused(f"{host} resolves to a non-public address ({address})")
    if not addresses:
        raise WebhookRefused(f"{host} has no address")
    return sorted(addresses)[0]


def webhook_call(row: WebhookDelivery, allowed: list[str]) -> tuple[bool, int | None, str]:
    problem = url_problem(row.url)
    if problem:
        return False, None, f"refused: {problem}"
    parts = urlsplit(row.url)
    host = (parts.hostname or "").lower()
    if host not in {h.lower() for h in allowed}:
        return False, None, f"refused: {host} is not on the workspace's webhook allow-list"
    try:
        address_check(host, parts.port or 443)
        response = httpx.request(
            row.method, row.url, json=row.body if row.method != "GET" else None,
            timeout=row.timeout_seconds, follow_redirects=False,
        )  # fmt: skip
    except WebhookRefused as exc:
        return False, None, f"refused: {exc}"
    except httpx.HTTPError as exc:
        return False, None, f"request failed: {exc.__class__.__name__}"
    ok = 200 <= response.status_code < 300
    return ok, response.status_code, "" if ok else f"HTTP {response.status_code}"


def webhooks_deliver(keys: list[str]) -> None:
    """Call each pending webhook once and queue its result for the run."""
    from journeys.services.stepping import runs_advance_due

    rows = list(
        WebhookDelivery.objects.filter(key__in=keys, status="pending").select_related("run")
    )
    run_ids = []
    for row in rows:
        ok, code, reason = webhook_call(row, webhook_hosts(row.run.workspace_id))
        _result_store(row, ok, code, reason)
        run_ids.append(row.run_id)
    if run_ids:
        runs_advance_due(only_ids=run_ids)


def _result_store(row: WebhookDelivery, ok: bool, code: int | None, reason: str) -> None:
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=row.pk, status="pending").update(
            status="ok" if ok else "failed", status_code=code, reason=reason[:300],
            done_at=real_now(),
        )  # fmt: skip
        if not updated:
            return
        now = clock_now(row.run.workspace_id)
        payload = {"key": row.key, "ok": ok, "status_code": code, "reason": reason}
        RunInput.objects.get_or_create(
            run_id=row.run_id, source_key=f"webhook:{row.key}",
            defaults={"kind": "webhook", "at": now, "payload": payload},
        )  # fmt: skip
        Run.objects.filter(pk=row.run_id, status__in=("active", "waiting")).update(due_at=now)
