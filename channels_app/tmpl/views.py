"""Template screens: list, new, detail with preview, editor with live checks, settings."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from channels_app.models import Template
from channels_app.tmpl.checks import live_check
from channels_app.tmpl.forms import (
    EDITOR_FORMS,
    DltSettingsForm,
    StatusForm,
    TemplateNewForm,
    VariableForm,
)
from channels_app.tmpl.render import TemplateRenderError
from channels_app.tmpl.selectors import (
    dlt_settings_get,
    template_get,
    template_list,
    template_version_latest,
    template_versions,
    variable_catalogue,
)
from channels_app.tmpl.services import (
    TemplateInvalid,
    dlt_settings_set,
    template_create,
    template_preview,
    template_status_set,
    template_variable_create,
    template_variant_save,
)
from console.audit import request_ip
from console.models import LANGUAGES, Customer
from console.selectors import customer_quick_search
from console.views import require_perm

STATUSES = [("pending", "Pending"), ("approved", "Approved"), ("rejected", "Rejected"),
            ("paused", "Paused"), ("disabled", "Disabled")]  # fmt: skip


def _template(request: HttpRequest, template_id: int) -> Template:
    try:
        return template_get(workspace=request.workspace, template_id=template_id)
    except Template.DoesNotExist:
        raise Http404("No such template in this workspace.") from None


def _add_errors(form, errors: dict[str, list[str]]) -> None:
    for field, problems in errors.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


@require_perm()
def templates_home(request: HttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "").strip() for k in ("channel", "status", "language", "q")}
    rows = template_list(
        workspace=request.workspace,
        channel=filters["channel"],
        status=filters["status"],
        language=filters["language"],
        search=filters["q"],
    )
    rows = list(rows)
    for row in rows:
        row.language_list = [code for code in (row.latest_languages or "").split(",") if code]
    context = {
        "rows": rows,
        "filters": filters,
        "statuses": STATUSES,
        "languages": LANGUAGES,
        "can_edit": "edit_templates" in request.perms,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "channels_app/tmpl_list.html#rows", context)
    return render(request, "channels_app/tmpl_list.html", context)


@require_perm("edit_templates")
def template_new(request: HttpRequest) -> HttpResponse:
    form = TemplateNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = template_create(
                workspace=request.workspace,
                actor=request.user,
                ip=request_ip(request),
                **form.cleaned_data,
            )
        except TemplateInvalid as exc:
            _add_errors(form, exc.errors)
        else:
            messages.success(
                request, f"Template '{template.key}' created: write its first version."
            )
            return redirect("template_edit", template_id=template.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "channels_app/tmpl_new.html", {"form": form}, status=status)


def _preview_context(request: HttpRequest, template: Template, version) -> dict:
    """Preview for ?customer=&lang=&context= (JSON); any problem becomes a message, not a 500."""
    customer, error, rendered = None, "", None
    customer_id = request.GET.get("customer", "")
    if customer_id.isdigit() and "view_customers" in request.perms:
        customer = Customer.objects.filter(workspace=request.workspace, pk=int(customer_id)).first()
    raw_context = request.GET.get("context", "").strip()
    language = request.GET.get("lang") or None
    try:
        sample = json.loads(raw_context) if raw_context else {}
        if not isinstance(sample, dict):
            raise ValueError("write a JSON object")
        if version is not None:
            rendered = template_preview(
                version=version, customer=customer, sample_context=sample, language=language
            )
    except ValueError as exc:
        error = f'Sample context: {exc}. Example: {{"event": {{"order_id": "58821"}}}}.'
        if isinstance(exc, TemplateRenderError):
            error = str(exc)
    return {
        "customer": customer,
        "preview_error": error,
        "message": rendered,
        "sample_context": raw_context,
        "preview_lang": language or "",
    }


def _version_from(request: HttpRequest, template: Template):
    wanted = request.GET.get("version", "")
    versions = template_versions(template=template)
    if wanted.isdigit():
        return get_object_or_404(versions, pk=int(wanted))
    return versions.first()


@require_perm()
def template_detail(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    version = _version_from(request, template)
    context = {
        "template": template,
        "version": version,
        "versions": template_versions(template=template),
        "can_edit": "edit_templates" in request.perms,
        "status_form": StatusForm(),
        "languages": LANGUAGES,
        **_preview_context(request, template, version),
    }
    return render(request, "channels_app/tmpl_detail.html", context)


@require_perm()
def template_preview_view(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    if not request.htmx:
        return template_detail(request, template_id)
    version = _version_from(request, template)
    context = {
        "template": template,
        "version": version,
        **_preview_context(request, template, version),
    }
    return render(request, "channels_app/tmpl_detail.html#preview", context)


@require_perm("view_customers")
def template_customer_search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    context = {"results": customer_quick_search(workspace=request.workspace, text=text), "q": text}
    if request.htmx:
        return render(request, "channels_app/tmpl_customer_pick.html#results", context)
    return render(request, "channels_app/tmpl_customer_pick.html", context)


def _editor_context(request: HttpRequest, template: Template, form, language: str) -> dict:
    checks = None
    if form.is_bound and form.is_valid():
        fields, variant = form.payload()
        checks = live_check(
            channel=template.channel,
            purpose=template.purpose,
            fields=fields,
            variant=variant,
            language=language,
            catalogue=variable_catalogue(workspace=request.workspace),
            whitelisted_domains=dlt_settings_get(workspace=request.workspace).whitelisted_domains,
            workspace=request.workspace,
        )
    latest = template_version_latest(template=template)
    return {
        "template": template,
        "form": form,
        "checks": checks,
        "language": language,
        "latest": latest,
        "languages": LANGUAGES,
        "catalogue": variable_catalogue(workspace=request.workspace).values(),
    }


def _editor_form(request: HttpRequest, template: Template, language: str):
    form_class = EDITOR_FORMS[template.channel]
    if request.method == "POST":
        return form_class(request.POST)
    initial = form_class.initial_for(template_version_latest(template=template), language)
    if template.channel == "sms" and not initial.get("entity_id"):
        initial["entity_id"] = dlt_settings_get(workspace=request.workspace).entity_id
    defaults = {n: f.initial for n, f in form_class.base_fields.items() if f.initial is not None}
    defaults["category"] = "MARKETING" if template.purpose == "promotional" else "UTILITY"
    defaults["header_type"] = "none"
    data = {**defaults, **{k: v for k, v in initial.items() if v is not None}}
    # Bound from the stored text so the first render already shows the live checks.
    return form_class({k: v for k, v in data.items() if k in form_class.base_fields})


@require_perm("edit_templates")
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    language = request.POST.get("language") or request.GET.get("lang") or template.fallback_language
    form = _editor_form(request, template, language)
    if request.method == "POST" and form.is_valid():
        fields, variant = form.payload()
        try:
            version = template_variant_save(
                template=template,
                language=language,
                fields=fields,
                variant=variant,
                actor=request.user,
                ip=request_ip(request),
            )
        except TemplateInvalid as exc:
            form.add_service_errors(exc.errors, language)
        else:
            messages.success(
                request, f"Saved as version {version.number} ({version.get_status_display()})."
            )
            return redirect("template_detail", template_id=template.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "channels_app/tmpl_edit.html",
        _editor_context(request, template, form, language),
        status=status,
    )


@require_POST
@require_perm("edit_templates")
def template_check(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    language = request.POST.get("language") or template.fallback_language
    form = EDITOR_FORMS[template.channel](request.POST)
    context = _editor_context(request, template, form, language)
    if request.htmx:
        return render(request, "channels_app/tmpl_edit.html#checks", context)
    return render(request, "channels_app/tmpl_edit.html", context)


@require_POST
@require_perm("edit_templates")
def template_status(request: HttpRequest, template_id: int, version_id: int) -> HttpResponse:
    template = _template(request, template_id)
    version = get_object_or_404(template.versions, pk=version_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        template_status_set(
            version=version,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            ip=request_ip(request),
        )
        messages.success(request, f"Version {version.number} is now {form.cleaned_data['status']}.")
    else:
        messages.error(request, "Choose a status: pending, approved, rejected, paused or disabled.")
    return redirect("template_detail", template_id=template.pk)


def _settings_forms(request: HttpRequest) -> tuple[DltSettingsForm, VariableForm]:
    dlt = dlt_settings_get(workspace=request.workspace)
    initial = {
        "entity_id": dlt.entity_id,
        "whitelisted_domains": "\n".join(dlt.whitelisted_domains),
    }
    posted = request.POST if request.method == "POST" else None
    which = request.POST.get("form") if posted else None
    dlt_form = DltSettingsForm(posted if which == "dlt" else None, initial=initial)
    variable_form = VariableForm(posted if which == "variable" else None)
    return dlt_form, variable_form


def _settings_save(request: HttpRequest, form, which: str) -> bool:
    if not form.is_valid():
        return False
    try:
        if which == "dlt":
            dlt_settings_set(
                workspace=request.workspace,
                actor=request.user,
                ip=request_ip(request),
                **form.cleaned_data,
            )
        else:
            template_variable_create(
                workspace=request.workspace,
                actor=request.user,
                ip=request_ip(request),
                **form.cleaned_data,
            )
    except TemplateInvalid as exc:
        _add_errors(form, exc.errors)
        return False
    return True


@require_perm()
def template_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "edit_templates" not in request.perms:
        raise PermissionDenied(f"Your role ({request.role}) cannot change template settings.")
    dlt_form, variable_form = _settings_forms(request)
    status = 200
    if request.method == "POST":
        which = request.POST.get("form", "")
        form = dlt_form if which == "dlt" else variable_form
        if _settings_save(request, form, which):
            messages.success(
                request, "DLT settings saved." if which == "dlt" else "Variable added."
            )
            return redirect("template_settings")
        status = 400
    context = {
        "dlt_form": dlt_form,
        "variable_form": variable_form,
        "catalogue": variable_catalogue(workspace=request.workspace).values(),
        "can_edit": "edit_templates" in request.perms,
    }
    return render(request, "channels_app/tmpl_settings.html", context, status=status)
