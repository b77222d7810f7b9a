"""Channels settings pages: the Channels home, provider accounts (credentials never shown back),
routing, simulator settings, "send test message", and IVR menus."""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from channels_app.ivr.menus import ivr_menu_save
from channels_app.models.calls import IvrMenu
from channels_app.models.outbox import Message
from channels_app.models.providers import ChannelRoute, ProviderAccount
from channels_app.providers_console.services import (
    OPTIONAL,
    OWN_SIMULATOR_KEYS,
    REQUIRED,
    AccountInvalid,
    breaker_state_now,
    provider_account_save,
    route_set,
    simulator_settings,
    simulator_settings_save,
)
from channels_app.providers_console.testsend import provider_test_send
from channels_app.webhooks.paths import webhook_url
from console.views import require_perm

PAGE = "channels_app/providers_page.html"
EXAMPLE = json.dumps({
    "1": {"action": "send", "template_key": "order_confirmation_sms", "channel": "sms",
          "label": "send details"},
    "2": {"action": "agent", "label": "talk to us"},
})  # fmt: skip


@require_perm("view_customers")
def channels_home(request: HttpRequest) -> HttpResponse:
    ws = request.workspace
    counts = {s: Message.objects.filter(workspace=ws, status=s).count() for s in (
        "queued", "deferred", "unknown", "failed")}  # fmt: skip
    routes = {r.channel: r.account for r in ChannelRoute.objects.filter(workspace=ws)}
    since = timezone.now() - timedelta(hours=24)
    context = {
        "sent_24h": Message.objects.filter(workspace=ws, sent_at__gte=since).count(),
        "counts": counts,
        "routes": [(c, routes.get(c)) for c in ("sms", "whatsapp", "voice")],
    }
    return render(request, "channels_app/providers_home.html", context)


def _page(request: HttpRequest, **extra) -> dict:
    ws = request.workspace
    accounts = list(ProviderAccount.objects.filter(workspace=ws).order_by("name"))
    for account in accounts:
        account.state_now = breaker_state_now(account)
        account.webhook = webhook_url(account.kind, account.pk)
    routes = {r.channel: r.account_id for r in ChannelRoute.objects.filter(workspace=ws)}
    sim = simulator_settings(workspace=ws)
    context = {
        "accounts": accounts,
        "routes": [(c, routes.get(c)) for c in ("sms", "whatsapp", "voice")],
        "fields": {k: list(REQUIRED[k]) + list(OPTIONAL[k]) for k in REQUIRED},
        "sim_config": json.dumps(
            {k: v for k, v in sim.config.items() if k not in OWN_SIMULATOR_KEYS}, indent=2
        ),
        "manual": sim.config.get("manual_channels") or [],
        "sim_webhook": webhook_url("simulator", ws.pk),
        "can_edit": "manage_channels" in request.perms,
        "errors": {},
    }
    context.update(extra)
    return context


@require_perm("view_customers")
def providers(request: HttpRequest) -> HttpResponse:
    return render(request, PAGE, _page(request))


@require_perm("manage_channels")
def provider_save(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("channels_providers")
    post = request.POST
    account = None
    if post.get("account", "").isdigit():
        account = get_object_or_404(
            ProviderAccount, workspace=request.workspace, pk=post["account"]
        )
    kind = account.kind if account else post.get("kind", "")
    creds = {k[5:]: v for k, v in post.items() if k.startswith("cred_")}
    try:
        rate = float(post.get("rate_limit_per_s") or 10)
        provider_account_save(workspace=request.workspace, kind=kind, name=post.get("name", ""),
                              credentials=creds, rate_limit_per_s=rate, account=account,
                              actor=request.user)  # fmt: skip
    except ValueError as exc:
        fields = exc.fields if isinstance(exc, AccountInvalid) else {"rate_limit_per_s": [str(exc)]}
        return render(request, PAGE, _page(request, errors=fields, posted=post), status=400)
    flash.success(request, "Provider account saved; credentials are stored encrypted.")
    return redirect("channels_providers")


@require_perm("manage_channels")
def provider_route(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        for channel in ("sms", "whatsapp", "voice"):
            value = request.POST.get(f"route_{channel}", "")
            account = None
            if value.isdigit():
                account = get_object_or_404(ProviderAccount, workspace=request.workspace, pk=value)
            try:
                route_set(workspace=request.workspace, channel=channel, account=account,
                          actor=request.user)  # fmt: skip
            except AccountInvalid as exc:
                return render(request, PAGE, _page(request, errors=exc.fields), status=400)
        flash.success(request, "Routing saved.")
    return redirect("channels_providers")


@require_perm("manage_channels")
def simulator_save(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("channels_providers")
    try:
        config = json.loads(request.POST.get("config") or "{}")
        if not isinstance(config, dict):
            raise ValueError('config: write a JSON object, e.g. {"seed": 7}')
        config["manual_channels"] = request.POST.getlist("manual_channels")
        simulator_settings_save(workspace=request.workspace, config=config, actor=request.user)
    except ValueError as exc:
        return render(request, PAGE, _page(request, errors={"simulator": [str(exc)]}), status=400)
    flash.success(request, "Simulator settings saved.")
    return redirect("channels_providers")


@require_perm("manage_channels")
def provider_test(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(ProviderAccount, workspace=request.workspace, pk=account_id)
    if request.method == "POST":
        ok, text = provider_test_send(account=account, to=request.POST.get("to", ""),
                                      channel=request.POST.get("channel", "sms"))  # fmt: skip
        (flash.success if ok else flash.error)(request, text)
    return redirect("channels_providers")


@require_perm("view_customers")
def ivr_menus(request: HttpRequest) -> HttpResponse:
    errors: dict = {}
    status = 200
    if request.method == "POST":
        if "manage_channels" not in request.perms:
            return HttpResponse("Your role cannot edit IVR menus; ask operations.", status=403)
        try:
            actions = json.loads(request.POST.get("actions") or "{}")
            ivr_menu_save(workspace=request.workspace, key=request.POST.get("key", "inbound"),
                          language=request.POST.get("language", "en"),
                          greeting=request.POST.get("greeting", ""), actions=actions)  # fmt: skip
            flash.success(request, "IVR menu saved.")
            return redirect("channels_ivr")
        except ValueError as exc:
            errors, status = {"menu": [str(exc)]}, 400
    menus = IvrMenu.objects.filter(workspace=request.workspace).order_by("key", "language")
    rows = [(m, json.dumps(m.actions, indent=2, ensure_ascii=False)) for m in menus]
    return render(request, "channels_app/ivr_menus.html",
                  {"menus": rows, "errors": errors, "posted": request.POST,
                   "can_edit": "manage_channels" in request.perms, "example_actions": EXAMPLE},
                  status=status)  # fmt: skip
