"""Consent screens: the customer-page panel (matrix, change, preferences, DND, history) and the
consent search. Each htmx endpoint also renders a full page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from channels_app.consent.forms import (
    ConsentChangeForm,
    ConsentSearchForm,
    DndForm,
    PreferencesForm,
    form_errors_from,
)
from channels_app.consent.schemas import ConsentError
from channels_app.consent.selectors import (
    consent_history,
    consent_matrix_rows,
    consent_search,
    consent_state_for,
    preference_row,
)
from channels_app.consent.services import consent_record, dnd_set, preferences_set
from channels_app.consent_ledger import PURPOSES
from channels_app.models.consent import DND_CATEGORIES
from console.audit import audit_list, request_ip
from console.models import Customer
from console.views import require_perm

PANEL_TEMPLATE = "channels_app/consent_panel.html"


def _customer(request: HttpRequest, customer_id: int) -> Customer:
    return get_object_or_404(Customer, pk=customer_id, workspace=request.workspace)


def _forms_initial(customer: Customer, pref) -> tuple[PreferencesForm, DndForm]:
    order = list(pref.preferred_channels) if pref else []
    initial = {f"preferred_{i + 1}": channel for i, channel in enumerate(order[:3])}
    initial.update(
        language=customer.language,
        quiet_start=pref.quiet_start if pref else None,
        quiet_end=pref.quiet_end if pref else None,
        do_not_call=bool(pref and pref.do_not_call),
    )
    dnd_initial = {
        "dnd": bool(pref and pref.dnd),
        "categories": list(pref.dnd_categories) if pref else [],
        "source": pref.dnd_source if pref else "",
    }
    return PreferencesForm(initial=initial), DndForm(initial=dnd_initial)


def panel_context(request: HttpRequest, customer: Customer, **extra) -> dict:
    pref = preference_row(customer)
    prefs_form, dnd_form = _forms_initial(customer, pref)
    audit = audit_list(workspace=request.workspace, action="consent", target="customer").filter(
        target_id=customer.external_id
    )[:20]
    context = {
        "customer": customer,
        "matrix": consent_matrix_rows(consent_state_for(customer)),
        "purposes": PURPOSES,
        "pref": pref,
        "dnd_labels": [DND_CATEGORIES[c] for c in (pref.dnd_categories if pref else [])],
        "history": consent_history(customer, limit=50),
        "audit": audit,
        "can_manage": "manage_consent" in request.perms,
        "prefs_form": prefs_form,
        "dnd_form": dnd_form,
    }
    context.update(extra)
    return context


def consent_customer_panel(request: HttpRequest, customer: Customer) -> dict:
    """The customer page's consent panel (registered into console.views.CUSTOMER_PANELS)."""
    html = render_to_string(
        f"{PANEL_TEMPLATE}#panel", panel_context(request, customer), request=request
    )
    return {"title": "Consent & preferences", "html": mark_safe(html)}  # noqa: S308 - our template


def _panel_response(request: HttpRequest, customer: Customer, status: int = 200, **extra):
    context = panel_context(request, customer, **extra)
    if request.htmx:
        # htmx swaps only 2xx answers; the panel re-rendered with its errors is the answer.
        return render(request, f"{PANEL_TEMPLATE}#panel", context)
    return render(request, PANEL_TEMPLATE, context, status=status)


@require_perm("view_customers")
def consent_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _panel_response(request, _customer(request, customer_id))


@require_perm("manage_consent")
def consent_change_form(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The small inline form asking for the reason of one grant or withdrawal."""
    customer = _customer(request, customer_id)
    form = ConsentChangeForm(
        initial={k: request.GET.get(k, "") for k in ("channel", "purpose", "status")}
    )
    context = {"customer": customer, "change_form": form}
    if request.htmx:
        return render(request, f"{PANEL_TEMPLATE}#change_form", context)
    return _panel_response(request, customer, change_form=form)


@require_POST
@require_perm("manage_consent")
def consent_change(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    form = ConsentChangeForm(request.POST)
    if form.is_valid():
        try:
            consent_record(
                customer=customer,
                source="support",
                actor=request.user,
                ip=request_ip(request),
                **form.cleaned_data,
            )
        except ConsentError as exc:
            form_errors_from(form, exc)
    if form.errors:
        if request.htmx:
            # htmx swaps only 2xx answers: send the form back with its errors, into its slot.
            context = {"customer": customer, "change_form": form}
            response = render(request, f"{PANEL_TEMPLATE}#change_form", context)
            response["HX-Retarget"], response["HX-Reswap"] = "#consent-change-slot", "innerHTML"
            return response
        return _panel_response(request, customer, status=400, change_form=form)
    if request.htmx:
        return _panel_response(request, customer, saved="Consent recorded.")
    return redirect("customer_detail", customer_id=customer.pk)


@require_POST
@require_perm("manage_consent")
def preferences_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            preferences_set(
                customer=customer,
                changes=form.changes(),
                actor=request.user,
                ip=request_ip(request),
            )
        except ConsentError as exc:
            form_errors_from(form, exc)
    if form.errors:
        return _panel_response(request, customer, status=400, prefs_form=form)
    customer.refresh_from_db()
    if request.htmx:
        return _panel_response(request, customer, saved="Preferences saved.")
    return redirect("customer_detail", customer_id=customer.pk)


@require_POST
@require_perm("manage_consent")
def dnd_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    form = DndForm(request.POST)
    if form.is_valid():
        try:
            dnd_set(
                customer=customer, actor=request.user, ip=request_ip(request), **form.cleaned_data
            )
        except ConsentError as exc:
            form_errors_from(form, exc)
    if form.errors:
        return _panel_response(request, customer, status=400, dnd_form=form)
    if request.htmx:
        return _panel_response(request, customer, saved="DND saved.")
    return redirect("customer_detail", customer_id=customer.pk)


@require_perm("view_customers")
def consent_home(request: HttpRequest) -> HttpResponse:
    """The consent search: ledger entries of the workspace with filters, keyset-paged."""
    form = ConsentSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = consent_search(
        workspace=request.workspace,
        customer=filters.get("customer") or "",
        channel=filters.get("channel") or "",
        purpose=filters.get("purpose") or "",
        status=filters.get("status") or "",
        source=filters.get("source") or "",
        since=filters.get("since"),
        until=filters.get("until"),
        before_id=filters.get("before"),
    )
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "appending": bool(filters.get("before")),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "channels_app/consent_home.html#rows", context)
    return render(request, "channels_app/consent_home.html", context)
