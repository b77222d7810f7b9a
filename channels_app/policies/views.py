"""The Policies page: the workspace's send policy (editable with manage_policies) and the
"check a send" tool support uses to answer "why didn't they get X?"."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from channels_app.policies.forms import SendCheckForm, policy_data_from_post, policy_form_context
from channels_app.policies.schemas import PolicyError
from channels_app.policies.selectors import (
    channel_best,
    customer_find,
    policy_get,
    send_check_build,
)
from channels_app.policies.services import policy_update
from channels_app.policy import decide_send, zone_of
from console.audit import request_ip
from console.views import require_perm

PAGE = "channels_app/policies_page.html"


def _page_context(request: HttpRequest, **extra) -> dict:
    context = {
        "can_edit": "manage_policies" in request.perms,
        "check_form": SendCheckForm(),
        "result": None,
    }
    if "scalars" not in extra:
        context.update(policy_form_context(policy_get(workspace=request.workspace).as_json()))
    context.update(extra)
    return context


@require_perm()
def policies(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, PAGE, _page_context(request))
    if "manage_policies" not in request.perms:
        raise PermissionDenied(
            f"Your role ({request.role}) cannot edit send policies; ask operations."
        )
    data = policy_data_from_post(request.POST)
    try:
        config = policy_update(
            workspace=request.workspace, data=data, actor=request.user, ip=request_ip(request)
        )
    except PolicyError as exc:
        context = _page_context(request, **policy_form_context(data, exc.fields), saved=False)
        template = f"{PAGE}#policy_form" if request.htmx else PAGE
        return render(request, template, context, status=400)
    messages.success(request, "Send policy saved.")
    context = _page_context(request, **policy_form_context(config.as_json()), saved=True)
    return render(request, f"{PAGE}#policy_form" if request.htmx else PAGE, context)


@require_perm("view_customers")
def policy_check(request: HttpRequest) -> HttpResponse:
    if not request.GET:  # opened from a link: an empty form, not a failed check
        return render(
            request, PAGE, _page_context(request, check_form=SendCheckForm(), result=None)
        )
    form = SendCheckForm(request.GET)
    result = _check(request, form) if form.is_valid() else None
    status = 200 if form.is_valid() and "error" not in (result or {}) else 400
    context = _page_context(request, check_form=form, result=result)
    template = f"{PAGE}#check_result" if request.htmx else PAGE
    return render(request, template, context, status=status)


def _check(request: HttpRequest, form: SendCheckForm) -> dict:
    data = form.cleaned_data
    customer = customer_find(workspace=request.workspace, text=data["customer"])
    if customer is None:
        return {"error": f"No customer with external id or phone '{data['customer']}' here."}
    at = _moment(form.wall_time(), customer.timezone)
    check = send_check_build(
        customer=customer,
        channel=data["channel"],
        purpose=data["purpose"],
        template_family=data["template_family"] or None,
        template_status=data["template_status"] or None,
        template_category=data["template_category"] or None,
        session_message=data["session_message"],
        collection=data["collection"],
        at=at,
    )
    best, passed = channel_best(
        customer=customer,
        purpose=check.purpose,
        at=at,
        template_family=data["template_family"] or None,
    )
    return {
        "customer": customer,
        "check": check,
        "decision": decide_send(check),
        "local": at.astimezone(zone_of(check.customer_tz)),
        "best": best,
        "passed": passed,
    }


def _moment(wall: datetime | None, tz: str) -> datetime:
    if wall is None:
        return timezone.now()
    try:
        zone = zone_of(tz)
    except ValueError:
        zone = zone_of("Asia/Kolkata")
    return wall.replace(tzinfo=zone)
