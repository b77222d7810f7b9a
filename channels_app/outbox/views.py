"""The message log and one message's detail."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from channels_app.models.outbox import MESSAGE_STATUSES, Message
from channels_app.outbox.selectors import LogFilters, message_history, message_log
from channels_app.providers.base import redact
from console.views import require_perm

LOG = "channels_app/outbox_log.html"


@require_perm("view_customers")
def messages_log(request: HttpRequest) -> HttpResponse:
    filters = LogFilters.from_query(request.GET)
    rows, next_before = message_log(workspace=request.workspace, filters=filters)
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "rows": rows,
        "filters": filters,
        "next_before": next_before,
        "query": query.urlencode(),
        "statuses": MESSAGE_STATUSES,
    }
    return render(request, f"{LOG}#rows" if request.htmx else LOG, context)


@require_perm("view_customers")
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(
        Message.objects.select_related("customer"), workspace=request.workspace, pk=message_id
    )
    history = [
        (change, json.dumps(redact(change.raw), indent=2, ensure_ascii=False))
        for change in message_history(message)
    ]
    context = {"m": message, "history": history, "spec": json.dumps(message.spec, indent=2)}
    return render(request, "channels_app/outbox_detail.html", context)
