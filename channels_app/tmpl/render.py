"""Rendering a template variant with typed values (pure Python over parsed shapes).

Author text goes through ``channels_app.placeholders`` only: values are formatted by their
variable's type and pasted between literal pieces; nothing is evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from channels_app.placeholders import (
    PlaceholderSyntaxError,
    placeholder_names,
    placeholder_render,
    variable_format,
)
from channels_app.sms_encoding import sms_measure
from channels_app.tmpl.catalogue import CatalogueVariable, value_lookup
from channels_app.tmpl.schemas import (
    SmsFields,
    SmsVariant,
    VoiceFields,
    VoiceVariant,
    WhatsAppFields,
    WhatsAppVariant,
)

SENDER_SUFFIX = {"promotional": "P", "service": "S", "transactional": "T"}
# The operator/circle prefix differs per recipient; previews show a Vi Mumbai one as an example.
PREVIEW_OPERATOR_PREFIX = "VM"
DLT_SLOT_CHARS = 30


class TemplateRenderError(ValueError):
    """The template cannot be rendered with these values; nothing may be sent.

    ``missing`` names variables without a value, ``invalid`` those whose value has the wrong type.
    """

    def __init__(
        self, message: str, *, missing: list[str] | None = None, invalid: list[str] | None = None
    ):
        super().__init__(message)
        self.missing = list(missing or [])
        self.invalid = list(invalid or [])


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for a provider or a preview; ``text`` is the body or the IVR prompt."""

    channel: str
    language: str
    text: str
    header: str = ""
    footer: str = ""
    buttons: tuple[dict[str, str], ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    sender: str = ""
    encoding: str = ""
    characters: int = 0
    segments: int = 0
    dlt_template_id: str = ""
    entity_id: str = ""
    provider_template_name: str = ""
    whatsapp_category: str = ""
    header_type: str = ""
    parameters: dict[str, list[str]] = field(default_factory=dict)
    menu: dict[str, str] = field(default_factory=dict)
    no_input_prompt: str = ""
    invalid_prompt: str = ""
    retries: int = 0
    version_id: int | None = None
    template_key: str = ""
    sampled: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def sms_sender_label(header: str, purpose: str, prefix: str = PREVIEW_OPERATOR_PREFIX) -> str:
    """The sender a handset shows, e.g. VM-MUZZTK-S (suffix by DLT category since May 2025)."""
    return f"{prefix}-{header}-{SENDER_SUFFIX.get(purpose, 'S')}"


class _Formatter:
    """Formats each named value once by its type, remembering what was missing or malformed."""

    def __init__(
        self,
        values: Mapping[str, object],
        catalogue: Mapping[str, CatalogueVariable],
        language: str,
    ):
        self.values, self.catalogue, self.language = values, catalogue, language
        self.formatted: dict[str, str] = {}
        # A lone ₹ would turn an otherwise GSM-7 SMS into UCS-2 (70 characters per part), so
        # English SMS write money as "Rs."; Unicode texts keep ₹.
        self.ascii_money = False
        self.missing: list[str] = []
        self.invalid: list[str] = []

    def get(self, name: str) -> str:
        if name in self.formatted:
            return self.formatted[name]
        raw = value_lookup(self.values, name)
        if raw is None or raw == "":
            if name not in self.missing:
                self.missing.append(name)
            return ""
        kind = self.catalogue[name].type if name in self.catalogue else "text"
        try:
            value = variable_format(raw, kind, self.language)
            if kind == "money" and self.ascii_money:
                value = value.replace("₹", "Rs.")
            self.formatted[name] = value
        except (TypeError, ValueError):
            self.invalid.append(f"{name} ({kind}: got {str(raw)[:30]!r})")
            return ""
        return self.formatted[name]

    def fill_named(self, text: str) -> str:
        try:
            names = placeholder_names(text, style="named")
            values = {name: self.get(name) for name in names}
            return placeholder_render(text, values, style="named") if not self._failed else ""
        except PlaceholderSyntaxError as exc:
            raise TemplateRenderError(f"The template text is not renderable: {exc}") from None

    def fill_numbered(
        self, text: str, mapping: Mapping[str, str], component: str
    ) -> tuple[str, list[str]]:
        params: list[str] = []
        values: dict[str, str] = {}
        for number in sorted(placeholder_names(text, style="numbered"), key=int):
            name = mapping.get(number)
            if not name:
                self.missing.append(f"{component} {{{{{number}}}}} (no variable mapped)")
                continue
            values[number] = self.get(name)
            params.append(values[number])
        if self._failed:
            return "", params
        try:
            return placeholder_render(text, values, style="numbered"), params
        except PlaceholderSyntaxError as exc:
            raise TemplateRenderError(f"The template text is not renderable: {exc}") from None

    @property
    def _failed(self) -> bool:
        return bool(self.missing or self.invalid)

    def raise_if_failed(self) -> None:
        if self.missing:
            raise TemplateRenderError(
                f"Cannot send: no value for {', '.join(self.missing)}.",
                missing=self.missing,
                invalid=self.invalid,
            )
        if self.invalid:
            raise TemplateRenderError(
                f"Cannot send: wrong value for {', '.join(self.invalid)}.", invalid=self.invalid
            )


@lru_cache(maxsize=1024)
def _gsm7(body: str) -> bool:
    """Is a template body plain GSM-7 (variants repeat: measured once per process)."""
    return sms_measure(body).encoding == "GSM-7"


def _render_sms(
    f: _Formatter, purpose: str, fields: SmsFields, variant: SmsVariant
) -> dict[str, Any]:
    f.ascii_money = _gsm7(variant.body)
    text = f.fill_named(variant.body)
    f.raise_if_failed()
    measure = sms_measure(text)
    long_values = [n for n, v in f.formatted.items() if len(v) > DLT_SLOT_CHARS]
    warnings = tuple(
        f"{n} is longer than a DLT slot ({DLT_SLOT_CHARS} characters)." for n in long_values
    )
    return {
        "text": text,
        "header": fields.header,
        "sender": sms_sender_label(fields.header, purpose),
        "encoding": measure.encoding,
        "characters": measure.characters,
        "segments": measure.segments,
        "dlt_template_id": variant.dlt_template_id,
        "entity_id": fields.entity_id,
        "warnings": warnings,
    }


def _render_whatsapp(
    f: _Formatter, fields: WhatsAppFields, variant: WhatsAppVariant
) -> dict[str, Any]:
    header_map = {"1": variant.header_variable} if variant.header_variable else {}
    header, header_params = ("", [])
    if fields.header_type == "text":
        header, header_params = f.fill_numbered(variant.header_text, header_map, "header")
    body, body_params = f.fill_numbered(variant.body, variant.body_variables, "body")
    f.raise_if_failed()
    return {
        "text": body,
        "header": header,
        "footer": variant.footer,
        "header_type": fields.header_type,
        "buttons": tuple(b.model_dump(exclude_defaults=True) for b in variant.buttons),
        "characters": len(body),
        "provider_template_name": fields.provider_name,
        "whatsapp_category": fields.category,
        "parameters": {"header": header_params, "body": body_params},
    }


def _render_voice(f: _Formatter, fields: VoiceFields, variant: VoiceVariant) -> dict[str, Any]:
    prompt = f.fill_named(variant.prompt)
    no_input = f.fill_named(variant.no_input_prompt)
    invalid = f.fill_named(variant.invalid_prompt)
    f.raise_if_failed()
    return {
        "text": prompt,
        "no_input_prompt": no_input,
        "invalid_prompt": invalid,
        "menu": dict(fields.menu),
        "retries": fields.retries,
        "characters": len(prompt),
    }


def variant_render(
    *,
    channel: str,
    purpose: str,
    fields: Any,
    variant: Any,
    language: str,
    values: Mapping[str, object],
    catalogue: Mapping[str, CatalogueVariable],
) -> RenderedMessage:
    """Render one parsed variant; raises TemplateRenderError naming each missing or bad variable."""
    formatter = _Formatter(values, catalogue, language)
    if channel == "sms":
        parts = _render_sms(formatter, purpose, fields, variant)
    elif channel == "whatsapp":
        parts = _render_whatsapp(formatter, fields, variant)
    else:
        parts = _render_voice(formatter, fields, variant)
    return RenderedMessage(
        channel=channel, language=language, variables=dict(formatter.formatted), **parts
    )
