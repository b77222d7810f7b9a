"""Validation of a whole template version and the live checks shown while an author types.

Error dictionaries use the form field name for channel-wide fields (``header``) and
``"<language>:<field>"`` for a language variant's fields (``"hi:body"``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from channels_app.placeholders import placeholder_names
from channels_app.sms_encoding import SmsMeasure, sms_measure, unlisted_urls, urls_in
from channels_app.template_rules import (
    WA_BODY_MAX,
    WA_BUTTONS_MAX,
    WA_FOOTER_MAX,
    WA_HEADER_MAX,
    sms_template_errors,
    sms_template_warnings,
    voice_template_errors,
    whatsapp_template_errors,
)
from channels_app.tmpl.catalogue import CatalogueVariable
from channels_app.tmpl.render import RenderedMessage, TemplateRenderError, variant_render
from channels_app.tmpl.schemas import ShapeError, fields_parse, variant_parse
from console.schemas import LANGUAGE_CODES

# One place to change until the policies capability owns per-provider prices.
SHARED_FIELDS = {
    "sms": {"category", "header", "entity_id"},
    "whatsapp": {"category", "provider_name"},
    "voice": {"menu", "retries"},
}
_NAMED_PLACEHOLDER_RE = re.compile(r"\{\{\s*[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*\s*\}\}")


def sms_cost_estimate(segments: int, *, workspace, category: str) -> Decimal:
    """Rupees for one SMS of ``segments`` parts under the workspace's cost table (send policies)."""
    from channels_app.policies.selectors import message_cost_estimate

    return message_cost_estimate(
        workspace=workspace, channel="sms", category=category, segments=segments
    )


def sms_dlt_text(body: str) -> str:
    """The text to register on the DLT portal: each named placeholder becomes one ``{#var#}``."""
    return _NAMED_PLACEHOLDER_RE.sub("{#var#}", body)


def _add(errors: dict[str, list[str]], key: str, messages: list[str]) -> None:
    for message in messages:
        if message not in errors.setdefault(key, []):
            errors[key].append(message)


def _merge(
    errors: dict[str, list[str]], found: Mapping[str, list[str]], channel: str, lang: str
) -> None:
    for name, messages in found.items():
        _add(errors, name if name in SHARED_FIELDS[channel] else f"{lang}:{name}", messages)


def unknown_variable_errors(names: Collection[str], known: Collection[str]) -> list[str]:
    unknown = [n for n in names if n not in known]
    if not unknown:
        return []
    listed = ", ".join(f"'{n}'" for n in unknown)
    label = "Unknown variable" if len(unknown) == 1 else "Unknown variables"
    return [
        f"{label} {listed}: pick one from the variable list or declare it in template settings."
    ]


def _sms_errors(
    purpose: str, fields: Any, variant: Any, known: Collection[str]
) -> dict[str, list[str]]:
    return sms_template_errors(
        body=variant.body,
        header=fields.header,
        category=purpose,
        dlt_template_id=variant.dlt_template_id,
        entity_id=fields.entity_id,
        known_variables=known,
    )


def whatsapp_samples(
    variant: Any, catalogue: Mapping[str, CatalogueVariable]
) -> dict[str, list[str]]:
    """Sample values per component, the author's where given, else the mapped variable's sample."""

    def sample_for(name: str, given: str) -> str:
        return given or (catalogue[name].sample if name in catalogue else "")

    numbers = sorted(placeholder_names(variant.body, style="numbered"), key=int)
    body = [
        sample_for(variant.body_variables.get(n, ""), variant.body_samples.get(n, ""))
        for n in numbers
    ]
    header = [sample_for(variant.header_variable, variant.header_sample)]
    return {"header": header, "body": body}


def _whatsapp_mapping_errors(variant: Any, known: Collection[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    numbers = placeholder_names(variant.body, style="numbered")
    unmapped = [n for n in numbers if not variant.body_variables.get(n)]
    if unmapped:
        _add(
            errors,
            "body_variables",
            [f"Map {{{{{n}}}}} to a variable, e.g. {n} | customer.name." for n in unmapped],
        )
    extra = [n for n in variant.body_variables if n not in numbers]
    if extra:
        _add(
            errors,
            "body_variables",
            [f"{{{{{n}}}}} is not in the body: remove its line." for n in extra],
        )
    _add(
        errors,
        "body_variables",
        unknown_variable_errors(list(variant.body_variables.values()), known),
    )
    header_numbers = placeholder_names(variant.header_text, style="numbered")
    if header_numbers and not variant.header_variable:
        _add(
            errors,
            "header_variable",
            ["Choose the variable for the header's {{1}}, e.g. event.order_id."],
        )
    if variant.header_variable:
        _add(errors, "header_variable", unknown_variable_errors([variant.header_variable], known))
    return errors


def _whatsapp_errors(
    purpose: str, fields: Any, variant: Any, lang: str, catalogue: Mapping[str, CatalogueVariable]
) -> dict[str, list[str]]:
    errors = whatsapp_template_errors(
        category=fields.category,
        language=lang,
        header_type=fields.header_type,
        header_text=variant.header_text,
        body=variant.body,
        footer=variant.footer,
        buttons=[b.model_dump() for b in variant.buttons],
        sample_values=whatsapp_samples(variant, catalogue),
        provider_name=fields.provider_name,
    )
    for name, messages in _whatsapp_mapping_errors(variant, catalogue.keys()).items():
        _add(errors, name, messages)
    marketing = fields.category.upper() == "MARKETING"
    if marketing != (purpose == "promotional"):
        _add(
            errors, "category", ["Promotional templates are MARKETING at Meta, and only they are."]
        )
    return errors


def _voice_errors(fields: Any, variant: Any, known: Collection[str]) -> dict[str, list[str]]:
    errors = voice_template_errors(
        prompt=variant.prompt,
        menu=fields.menu,
        retries=fields.retries,
        no_input_prompt=variant.no_input_prompt,
        invalid_prompt=variant.invalid_prompt,
    )
    for name in ("prompt", "no_input_prompt", "invalid_prompt"):
        names = placeholder_names(getattr(variant, name), style="named")
        _add(errors, name, unknown_variable_errors(names, known))
    return {k: v for k, v in errors.items() if v}


def variant_errors(
    *,
    channel: str,
    purpose: str,
    fields: Any,
    variant: Any,
    language: str,
    catalogue: Mapping[str, CatalogueVariable],
) -> dict[str, list[str]]:
    """Problems with one parsed language variant under the given channel-wide fields."""
    if channel == "sms":
        return _sms_errors(purpose, fields, variant, catalogue.keys())
    if channel == "whatsapp":
        return _whatsapp_errors(purpose, fields, variant, language, catalogue)
    return _voice_errors(fields, variant, catalogue.keys())


def version_errors(
    *,
    channel: str,
    purpose: str,
    fallback_language: str,
    fields: dict[str, Any],
    variants: dict[str, dict[str, Any]],
    catalogue: Mapping[str, CatalogueVariable],
) -> dict[str, list[str]]:
    """Every problem with a version about to be saved; empty when it may be saved."""
    errors: dict[str, list[str]] = {}
    try:
        parsed_fields = fields_parse(channel, fields)
    except ShapeError as exc:
        return exc.errors
    if fallback_language not in variants:
        _add(
            errors,
            "language",
            [f"Write the fallback language ({fallback_language}) variant first."],
        )
    for lang, raw in variants.items():
        if lang not in LANGUAGE_CODES:
            _add(
                errors,
                "language",
                [f"'{lang}' is not a supported language: use one of {', '.join(LANGUAGE_CODES)}."],
            )
            continue
        try:
            variant = variant_parse(channel, raw, lang)
        except ShapeError as exc:
            errors.update(exc.errors)
            continue
        found = variant_errors(
            channel=channel,
            purpose=purpose,
            fields=parsed_fields,
            variant=variant,
            language=lang,
            catalogue=catalogue,
        )
        _merge(errors, found, channel, lang)
    return errors


# --- live checks ---------------------------------------------------------------------------------


@dataclass
class LiveCheck:
    """What the editor shows beside the text while the author types."""

    channel: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    variables: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, type, known)
    measure: SmsMeasure | None = None
    cost: Decimal | None = None
    dlt_text: str = ""
    urls: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    counters: list[tuple[str, int, int]] = field(default_factory=list)  # (label, used, limit)
    preview: RenderedMessage | None = None


def _variable_rows(
    names: list[str], catalogue: Mapping[str, CatalogueVariable]
) -> list[tuple[str, str, bool]]:
    return [
        (n, catalogue[n].type if n in catalogue else "?", n in catalogue)
        for n in dict.fromkeys(names)
    ]


def _used_names(channel: str, variant: Any) -> list[str]:
    if channel == "sms":
        return placeholder_names(variant.body, style="named")
    if channel == "whatsapp":
        mapped = [variant.header_variable] if variant.header_variable else []
        return mapped + [variant.body_variables[k] for k in sorted(variant.body_variables, key=int)]
    texts = (variant.prompt, variant.no_input_prompt, variant.invalid_prompt)
    return [n for text in texts for n in placeholder_names(text, style="named")]


def _sample_preview(
    channel: str,
    purpose: str,
    fields: Any,
    variant: Any,
    language: str,
    catalogue: Mapping[str, CatalogueVariable],
) -> RenderedMessage | None:
    samples = {name: var.sample for name, var in catalogue.items()}
    try:
        return variant_render(
            channel=channel,
            purpose=purpose,
            fields=fields,
            variant=variant,
            language=language,
            values=samples,
            catalogue=catalogue,
        )
    except TemplateRenderError:
        return None


def live_check(
    *,
    channel: str,
    purpose: str,
    fields: dict[str, Any],
    variant: dict[str, Any],
    language: str,
    catalogue: Mapping[str, CatalogueVariable],
    whitelisted_domains: Collection[str],
    workspace=None,
) -> LiveCheck:
    """Counts, encoding, cost, variables, links and errors for the variant being edited."""
    check = LiveCheck(channel=channel)
    try:
        parsed_fields, parsed = fields_parse(channel, fields), variant_parse(channel, variant)
    except ShapeError as exc:
        check.errors = exc.errors
        return check
    check.errors = variant_errors(
        channel=channel,
        purpose=purpose,
        fields=parsed_fields,
        variant=parsed,
        language=language,
        catalogue=catalogue,
    )
    check.variables = _variable_rows(_used_names(channel, parsed), catalogue)
    check.preview = _sample_preview(channel, purpose, parsed_fields, parsed, language, catalogue)
    if channel == "sms":
        _sms_live(check, parsed.body, whitelisted_domains)
        if workspace is not None and check.measure is not None:
            check.cost = sms_cost_estimate(
                check.measure.segments, workspace=workspace, category=purpose
            )
    elif channel == "whatsapp":
        check.counters = [
            ("Header", len(parsed.header_text), WA_HEADER_MAX),
            ("Body", len(parsed.body), WA_BODY_MAX),
            ("Footer", len(parsed.footer), WA_FOOTER_MAX),
            ("Buttons", len(parsed.buttons), WA_BUTTONS_MAX),
        ]
        check.urls = [b.url for b in parsed.buttons if b.url]
    return check


def _sms_live(check: LiveCheck, body: str, whitelisted_domains: Collection[str]) -> None:
    # Counted on the text with sample values in place: that is the size a customer receives.
    text = check.preview.text if check.preview else body
    check.measure = sms_measure(text)
    check.dlt_text = sms_dlt_text(body)
    check.urls = urls_in(body)
    check.unlisted = unlisted_urls(body, whitelisted_domains)
    check.warnings = sms_template_warnings(body=text)
    if check.unlisted:
        check.warnings.append(
            f"Not on your DLT whitelist: {', '.join(check.unlisted)}. Operators will block it."
        )
