"""Writes for templates, and rendering. Every write is one transaction with its audit entry.

Versions are immutable: an edit writes a new version. SMS and voice versions are usable at once
(the DLT registration happens on the operator's portal); a WhatsApp version starts ``pending``
until Meta approves it, which an operator records with ``template_status_set`` for now.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_app.models import DltSettings, Template, TemplateVariable, TemplateVersion
from channels_app.models.templates import CHANNELS, PURPOSES, VERSION_STATUSES
from channels_app.placeholders import VARIABLE_TYPES, Variable
from channels_app.tmpl.catalogue import CatalogueVariable, render_values
from channels_app.tmpl.checks import version_errors
from channels_app.tmpl.render import RenderedMessage, TemplateRenderError, variant_render
from channels_app.tmpl.schemas import fields_parse, variant_parse
from channels_app.tmpl.selectors import template_version_approved, variable_catalogue
from console.audit import audit_record
from console.models import Customer, Workspace
from console.schemas import LANGUAGE_CODES

_KEY_RE = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_DOMAIN_RE = re.compile(r"(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")


class TemplateInvalid(ValueError):
    """Refused input; ``errors`` maps a field (or ``"<lang>:<field>"``) to fix-naming messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class TemplateNotApproved(LookupError):
    """No approved version exists: the sender must block with ``template_not_approved``."""


def _choice_error(value: str, choices: list[tuple[str, str]], label: str) -> list[str]:
    codes = [c for c, _ in choices]
    return [] if value in codes else [f"Choose a {label}: {', '.join(codes)}."]


def _template_errors(
    *, workspace: Workspace, key: str, name: str, channel: str, purpose: str, fallback_language: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not _KEY_RE.fullmatch(key):
        errors["key"] = ["Use lower-case letters, digits, '_' or '-', e.g. order_confirmation_sms."]
    elif Template.objects.filter(workspace=workspace, key=key).exists():
        errors["key"] = [f"A template with key '{key}' already exists: choose another key."]
    if not name.strip():
        errors["name"] = ["Give the template a name, e.g. Order confirmation."]
    for field, value, choices in (("channel", channel, CHANNELS), ("purpose", purpose, PURPOSES)):
        if problem := _choice_error(value, choices, field):
            errors[field] = problem
    if fallback_language not in LANGUAGE_CODES:
        errors["fallback_language"] = [f"Use one of {', '.join(LANGUAGE_CODES)}."]
    return errors


def template_create(
    *,
    workspace: Workspace,
    key: str,
    name: str,
    channel: str,
    purpose: str,
    fallback_language: str = "en",
    actor=None,
    ip: str | None = None,
) -> Template:
    """Create a template without versions; raises TemplateInvalid naming each bad field."""
    key, name = key.strip(), name.strip()
    errors = _template_errors(
        workspace=workspace,
        key=key,
        name=name,
        channel=channel,
        purpose=purpose,
        fallback_language=fallback_language,
    )
    if errors:
        raise TemplateInvalid(errors)
    try:
        with transaction.atomic():
            template = Template.objects.create(
                workspace=workspace,
                key=key,
                name=name,
                channel=channel,
                purpose=purpose,
                fallback_language=fallback_language,
            )
            audit_record(
                workspace=workspace,
                action="template.create",
                actor=actor,
                target_type="template",
                target_id=template.pk,
                summary=f"Created {channel} template '{key}'",
                after={"key": key, "name": name, "channel": channel, "purpose": purpose},
                ip=ip,
            )
    except IntegrityError:
        raise TemplateInvalid(
            {"key": [f"A template with key '{key}' already exists: choose another key."]}
        ) from None
    return template


def _normalise(
    channel: str, fields: Mapping[str, Any], variants: Mapping[str, Any]
) -> tuple[dict, dict]:
    """Round-trip through the shapes so stored JSON is stripped and complete."""
    stored_fields = fields_parse(channel, dict(fields)).model_dump()
    stored_variants = {
        lang: variant_parse(channel, raw, lang).model_dump() for lang, raw in variants.items()
    }
    return stored_fields, stored_variants


def template_version_create(
    *,
    template: Template,
    fields: Mapping[str, Any],
    variants: Mapping[str, Mapping[str, Any]],
    actor=None,
    ip: str | None = None,
) -> TemplateVersion:
    """Validate and store the next version; nothing is written when anything is invalid.

    Locks the template row so two editors cannot take the same version number.
    """
    catalogue = variable_catalogue(workspace=template.workspace)
    errors = version_errors(
        channel=template.channel,
        purpose=template.purpose,
        fallback_language=template.fallback_language,
        fields=dict(fields),
        variants={k: dict(v) for k, v in variants.items()},
        catalogue=catalogue,
    )
    if errors:
        raise TemplateInvalid(errors)
    stored_fields, stored_variants = _normalise(template.channel, fields, variants)
    with transaction.atomic():
        locked = Template.objects.select_for_update().get(pk=template.pk)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        status = "pending" if template.channel == "whatsapp" else "approved"
        version = TemplateVersion.objects.create(
            template=locked,
            number=last + 1,
            status=status,
            fields=stored_fields,
            variants=stored_variants,
            languages="," + ",".join(sorted(stored_variants)) + ",",
            created_by=actor if actor and actor.pk else None,
        )
        locked.save(update_fields=["updated_at"])
        audit_record(
            workspace=template.workspace,
            action="template.version",
            actor=actor,
            target_type="template",
            target_id=template.pk,
            summary=f"'{template.key}' version {version.number} ({status})",
            after={
                "version": version.number,
                "status": status,
                "fields": stored_fields,
                "variants": stored_variants,
            },
            ip=ip,
        )
    return version


def template_variant_save(
    *,
    template: Template,
    language: str,
    fields: Mapping[str, Any],
    variant: Mapping[str, Any],
    actor=None,
    ip: str | None = None,
) -> TemplateVersion:
    """A new version with ``language`` set to ``variant`` and the other languages carried over."""
    latest = template.versions.order_by("-number").first()
    variants = dict(latest.variants) if latest else {}
    variants[language] = dict(variant)
    return template_version_create(
        template=template, fields=fields, variants=variants, actor=actor, ip=ip
    )


def template_status_set(
    *, version: TemplateVersion, status: str, actor=None, reason: str = "", ip: str | None = None
) -> TemplateVersion:
    """Record an approval-status change (by hand until the provider webhook lands)."""
    if problem := _choice_error(status, VERSION_STATUSES, "status"):
        raise TemplateInvalid({"status": problem})
    with transaction.atomic():
        locked = (
            TemplateVersion.objects.select_for_update()
            .select_related("template__workspace")
            .get(pk=version.pk)
        )
        before = locked.status
        locked.status, locked.status_changed_at = status, timezone.now()
        locked.save(update_fields=["status", "status_changed_at"])
        template = locked.template
        audit_record(
            workspace=template.workspace,
            action="template.status",
            actor=actor,
            target_type="template",
            target_id=template.pk,
            summary=f"'{template.key}' v{locked.number}: {before} -> {status}"
            + (f" ({reason})" if reason else ""),
            before={"status": before},
            after={"status": status, "version": locked.number, "reason": reason},
            ip=ip,
        )
    return locked


def template_archive(*, template: Template, actor=None, ip: str | None = None) -> Template:
    """Hide a template from lists and stop it being sent; its versions stay for history."""
    with transaction.atomic():
        template.archived_at = timezone.now()
        template.save(update_fields=["archived_at", "updated_at"])
        audit_record(
            workspace=template.workspace,
            action="template.archive",
            actor=actor,
            target_type="template",
            target_id=template.pk,
            summary=f"Archived '{template.key}'",
            ip=ip,
        )
    return template


# --- rendering -----------------------------------------------------------------------------------


def _variant_language(version: TemplateVersion, language: str | None) -> str:
    if language and language in version.variants:
        return language
    if version.template.fallback_language in version.variants:
        return version.template.fallback_language
    if version.variants:
        return sorted(version.variants)[0]
    raise TemplateRenderError(f"Version {version.number} has no text in any language.")


def template_render(
    *,
    version: TemplateVersion,
    language: str | None,
    values: Mapping[str, object],
    catalogue: Mapping[str, CatalogueVariable] | None = None,
) -> RenderedMessage:
    """Render ``version`` in ``language`` (else the template's fallback language).

    ``values`` is nested (``{"customer": {...}, "event": {...}, "context": {...}}``, see
    ``catalogue.render_values``) or flat dotted keys. Raises TemplateRenderError naming every
    missing or wrongly typed variable; nothing should be sent then. A batch sender may pass
    ``catalogue`` (from ``variable_catalogue``) once instead of a query per message.
    """
    template = version.template
    lang = _variant_language(version, language)
    rendered = variant_render(
        channel=template.channel,
        purpose=template.purpose,
        fields=fields_parse(template.channel, version.fields),
        variant=variant_parse(template.channel, version.variants[lang], lang),
        language=lang,
        values=values,
        catalogue=catalogue
        if catalogue is not None
        else variable_catalogue(workspace=template.workspace),
    )
    return dataclasses.replace(rendered, version_id=version.pk, template_key=template.key)


def template_preview(
    *,
    version: TemplateVersion,
    customer: Customer | None,
    sample_context: Mapping[str, object] | None = None,
    language: str | None = None,
) -> RenderedMessage:
    """Render for a chosen customer; still-missing variables get samples (listed in ``sampled``)."""
    values: dict[str, object] = render_values(customer=customer)
    values.update(sample_context or {})
    lang = language or (customer.language if customer else None)
    try:
        return template_render(version=version, language=lang, values=values)
    except TemplateRenderError as exc:
        catalogue = variable_catalogue(workspace=version.template.workspace)
        fillable = [name for name in exc.missing if name in catalogue]
        if not fillable or len(fillable) != len(exc.missing):
            raise
        values.update({name: catalogue[name].sample for name in fillable})
    rendered = template_render(version=version, language=lang, values=values)
    return dataclasses.replace(rendered, sampled=tuple(fillable))


def template_render_for_customer(
    *,
    template: Template,
    customer: Customer,
    event: Mapping[str, object] | None = None,
    context: Mapping[str, object] | None = None,
    memo: dict | None = None,
) -> RenderedMessage:
    """What the outbox calls: the approved version in the customer's language, rendered.

    Raises TemplateNotApproved when no version is approved, TemplateRenderError when a value is
    missing or malformed. ``memo`` (a batch's dict) keeps the version per template and language.
    """
    key = ("approved_version", template.pk, customer.language)
    if memo is not None and key in memo:
        version = memo[key]
    else:
        version = template_version_approved(template=template, language=customer.language)
        if memo is not None:
            memo[key] = version
    if version is None:
        raise TemplateNotApproved(f"Template '{template.key}' has no approved version.")
    values = render_values(customer=customer, event=event, context=context)
    catalogue = None
    if memo is not None:
        catalogue_key = ("catalogue", template.workspace_id)
        if catalogue_key not in memo:
            memo[catalogue_key] = variable_catalogue(workspace=template.workspace)
        catalogue = memo[catalogue_key]
    return template_render(
        version=version, language=customer.language, values=values, catalogue=catalogue
    )


# --- settings ------------------------------------------------------------------------------------


def dlt_settings_set(
    *,
    workspace: Workspace,
    entity_id: str,
    whitelisted_domains: list[str],
    actor=None,
    ip: str | None = None,
) -> DltSettings:
    """Store the DLT entity id (13-19 digits or empty) and whitelisted link domains."""
    entity_id = entity_id.strip()
    domains = list(dict.fromkeys(d.strip().lower() for d in whitelisted_domains if d.strip()))
    errors: dict[str, list[str]] = {}
    if entity_id and not (entity_id.isdigit() and 13 <= len(entity_id) <= 19):
        errors["entity_id"] = ["The entity id is 13-19 digits, as shown on your DLT portal."]
    bad = [d for d in domains if not _DOMAIN_RE.fullmatch(d)]
    if bad:
        errors["whitelisted_domains"] = [
            f"Not a domain: {', '.join(bad)}. Write one per line, e.g. muzz.in."
        ]
    if errors:
        raise TemplateInvalid(errors)
    with transaction.atomic():
        row, _ = DltSettings.objects.select_for_update().get_or_create(workspace=workspace)
        before = {"entity_id": row.entity_id, "whitelisted_domains": row.whitelisted_domains}
        row.entity_id, row.whitelisted_domains = entity_id, domains
        row.save()
        audit_record(
            workspace=workspace,
            action="template.dlt_settings",
            actor=actor,
            target_type="dlt_settings",
            target_id=row.pk,
            summary="DLT settings changed",
            before=before,
            after={"entity_id": entity_id, "whitelisted_domains": domains},
            ip=ip,
        )
    return row


def template_variable_create(
    *,
    workspace: Workspace,
    name: str,
    type: str,
    sample: str = "",
    description: str = "",
    actor=None,
    ip: str | None = None,
) -> TemplateVariable:
    """Declare a workspace variable such as ``customer.attributes.city`` (text)."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    try:
        Variable(name=name, type=type, source="workspace")
    except ValueError as exc:
        errors["type" if type not in VARIABLE_TYPES else "name"] = [str(exc) + "."]
    if not errors and name.split(".")[0] not in ("customer", "event", "context"):
        errors["name"] = ["Start the name with customer.attributes., event. or context."]
    if not errors and name in variable_catalogue(workspace=workspace):
        errors["name"] = [f"'{name}' already exists."]
    if errors:
        raise TemplateInvalid(errors)
    with transaction.atomic():
        row = TemplateVariable.objects.create(
            workspace=workspace,
            name=name,
            type=type,
            sample=sample.strip(),
            description=description.strip(),
        )
        audit_record(
            workspace=workspace,
            action="template.variable",
            actor=actor,
            target_type="template_variable",
            target_id=row.pk,
            summary=f"Declared variable {name} ({type})",
            ip=ip,
        )
    return row
