"""Settings: API keys, members and roles, the audit log."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from console.audit import audit_list
from console.forms import ApiKeyForm, AuditFilterForm
from console.models import ApiKey, Membership
from console.services import apikey_create, apikey_revoke
from console.views import require_perm


@require_perm()
def settings_home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/settings.html", {})


@require_perm("manage_api_keys")
def api_keys(request: HttpRequest) -> HttpResponse:
    created_secret = None
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _key, created_secret = apikey_create(
            workspace=request.workspace, name=form.cleaned_data["name"], actor=request.user
        )
        form = ApiKeyForm()
    context = {
        "form": form,
        "keys": ApiKey.objects.filter(workspace=request.workspace).order_by("-id"),
        "created_secret": created_secret,
    }
    status = 400 if request.method == "POST" and form.errors else 200
    if request.htmx:
        return render(request, "console/api_keys.html#keys", context, status=status)
    return render(request, "console/api_keys.html", context, status=status)


@require_POST
@require_perm("manage_api_keys")
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, workspace=request.workspace)
    apikey_revoke(key=key, actor=request.user)
    messages.success(request, f"Key '{key.name}' revoked; requests with it now get 401.")
    return redirect("api_keys")


@require_perm("manage_members")
def members(request: HttpRequest) -> HttpResponse:
    rows = Membership.objects.filter(workspace=request.workspace).select_related("user", "role")
    return render(
        request, "console/members.html", {"rows": rows.order_by("role__name", "user__username")}
    )


@require_perm("view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    before = request.GET.get("before")
    entries = list(
        audit_list(
            workspace=request.workspace,
            action=filters.get("action", ""),
            actor=filters.get("actor", ""),
            target=filters.get("target", ""),
            before_id=int(before) if before and before.isdigit() else None,
        )[:51]
    )
    context = {
        "form": form,
        "entries": entries[:50],
        "next_before": entries[49].id if len(entries) > 50 else None,
        "query": request.GET.copy(),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "console/audit.html#rows", context)
    return render(request, "console/audit.html", context)
