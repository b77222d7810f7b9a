"""Editor forms, one per channel. Each turns its fields into (channel-wide fields, variant).

Lists are typed one item per line with ``|`` between parts, so an author can paste them:
WhatsApp variables ``1 | customer.name | Priya``, buttons ``url | Track order | https://...``,
IVR menu ``1 | pay_now``.
"""

from __future__ import annotations

from typing import Any

from django import forms

from channels_app.models.templates import CHANNELS, PURPOSES, TemplateVersion
from channels_app.template_rules import WHATSAPP_CATEGORIES, WHATSAPP_HEADER_TYPES
from console.models import LANGUAGES

_AREA = {"rows": 5, "spellcheck": "false"}


class TemplateNewForm(forms.Form):
    key = forms.SlugField(
        max_length=64, help_text="Journeys refer to it, e.g. order_confirmation_sms."
    )
    name = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=CHANNELS)
    purpose = forms.ChoiceField(
        choices=PURPOSES, help_text="Consent purpose; for SMS also the DLT category."
    )
    fallback_language = forms.ChoiceField(choices=LANGUAGES, initial="en")


def _lines(raw: str) -> list[list[str]]:
    return [[part.strip() for part in line.split("|")] for line in raw.splitlines() if line.strip()]


class _EditorForm(forms.Form):
    language = forms.ChoiceField(choices=LANGUAGES)
    shared: tuple[str, ...] = ()

    def payload(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(channel-wide fields, this language's variant) from cleaned data."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "language"}
        return {k: data.pop(k) for k in self.shared}, data

    @classmethod
    def initial_for(cls, version: TemplateVersion | None, language: str) -> dict[str, Any]:
        initial: dict[str, Any] = {"language": language}
        if version is not None:
            initial.update(version.fields)
            initial.update(version.variants.get(language, {}))
        return initial

    def add_service_errors(self, errors: dict[str, list[str]], language: str) -> None:
        """Show a service's errors on this form's fields; other languages' go on top."""
        for key, messages in errors.items():
            lang, _, name = key.rpartition(":")
            name = {"sample_values": "body_variables"}.get(name, name)
            field = name if (not lang or lang == language) and name in self.fields else None
            prefix = f"{dict(LANGUAGES).get(lang, lang)}: " if lang and lang != language else ""
            for message in messages:
                self.add_error(field, prefix + message)


class SmsEditorForm(_EditorForm):
    shared = ("header", "entity_id")
    header = forms.CharField(
        max_length=6, required=False, help_text="6 letters (digits if promotional)."
    )
    entity_id = forms.CharField(max_length=19, required=False, label="Entity id")
    dlt_template_id = forms.CharField(max_length=30, required=False, label="DLT template id")
    body = forms.CharField(
        widget=forms.Textarea(attrs=_AREA),
        required=False,
        help_text="Variables as {{customer.first_name}}; each becomes one {#var#} slot on DLT.",
    )


class WhatsAppEditorForm(_EditorForm):
    shared = ("category", "provider_name", "header_type")
    category = forms.ChoiceField(choices=[(c, c.title()) for c in WHATSAPP_CATEGORIES])
    provider_name = forms.CharField(max_length=512, required=False, label="Template name at Meta")
    header_type = forms.ChoiceField(choices=[(h, h.title()) for h in WHATSAPP_HEADER_TYPES])
    header_text = forms.CharField(max_length=200, required=False)
    header_variable = forms.CharField(
        max_length=100, required=False, help_text="Fills the header's {{1}}."
    )
    header_sample = forms.CharField(max_length=200, required=False)
    body = forms.CharField(
        widget=forms.Textarea(attrs=_AREA), required=False, help_text="Use {{1}}, {{2}}, ..."
    )
    body_variables = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        required=False,
        label="Variables",
        help_text="One per line: 1 | customer.first_name | sample (the sample is optional).",
    )
    footer = forms.CharField(max_length=200, required=False)
    buttons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        required=False,
        help_text=(
            "One per line: quick_reply | Need help?  ·  url | Track order | https://…"
            "  ·  phone | Call us | +91…"
        ),
    )

    def clean_body_variables(self) -> list[list[str]]:
        rows = _lines(self.cleaned_data["body_variables"])
        for row in rows:
            if len(row) < 2 or not row[0].strip("{}").isdigit():
                raise forms.ValidationError(
                    f"'{' | '.join(row)}': write number | variable, e.g. 1 | customer.name."
                )
        return rows

    def clean_buttons(self) -> list[dict[str, str]]:
        buttons = []
        for row in _lines(self.cleaned_data["buttons"]):
            kind, text, target = (row + ["", "", ""])[:3]
            key = "phone" if kind == "phone" else "url"
            buttons.append({"type": kind, "text": text, **({key: target} if target else {})})
        return buttons

    def payload(self) -> tuple[dict[str, Any], dict[str, Any]]:
        fields, variant = super().payload()
        rows = variant.pop("body_variables")
        variant["body_variables"] = {r[0].strip("{}"): r[1] for r in rows}
        variant["body_samples"] = {r[0].strip("{}"): r[2] for r in rows if len(r) > 2 and r[2]}
        return fields, variant

    @classmethod
    def initial_for(cls, version: TemplateVersion | None, language: str) -> dict[str, Any]:
        initial = super().initial_for(version, language)
        mapping, samples = (
            initial.get("body_variables") or {},
            initial.pop("body_samples", None) or {},
        )
        initial["body_variables"] = "\n".join(
            " | ".join([n, name] + ([samples[n]] if samples.get(n) else []))
            for n, name in mapping.items()
        )
        initial["buttons"] = "\n".join(
            " | ".join(p for p in (b["type"], b["text"], b.get("url") or b.get("phone") or "") if p)
            for b in initial.get("buttons") or []
        )
        return initial


class VoiceEditorForm(_EditorForm):
    shared = ("menu", "retries")
    prompt = forms.CharField(
        widget=forms.Textarea(attrs=_AREA), required=False, label="Spoken prompt"
    )
    menu = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        required=False,
        label="Keypad menu",
        help_text="One key per line: 1 | pay_now",
    )
    no_input_prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    invalid_prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    retries = forms.IntegerField(min_value=0, max_value=5, initial=2)

    def clean_menu(self) -> dict[str, str]:
        menu = {}
        for row in _lines(self.cleaned_data["menu"]):
            if len(row) != 2:
                raise forms.ValidationError(
                    f"'{' | '.join(row)}': write key | outcome, e.g. 1 | pay_now."
                )
            menu[row[0]] = row[1]
        return menu

    @classmethod
    def initial_for(cls, version: TemplateVersion | None, language: str) -> dict[str, Any]:
        initial = super().initial_for(version, language)
        initial["menu"] = "\n".join(f"{k} | {v}" for k, v in (initial.get("menu") or {}).items())
        return initial


EDITOR_FORMS: dict[str, type[_EditorForm]] = {
    "sms": SmsEditorForm,
    "whatsapp": WhatsAppEditorForm,
    "voice": VoiceEditorForm,
}


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TemplateVersion._meta.get_field("status").choices)
    reason = forms.CharField(max_length=200, required=False)


class DltSettingsForm(forms.Form):
    entity_id = forms.CharField(max_length=19, required=False, label="Entity id")
    whitelisted_domains = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        required=False,
        help_text="One domain per line, as whitelisted on DLT, e.g. muzz.in (subdomains included).",
    )

    def clean_whitelisted_domains(self) -> list[str]:
        return [
            line.strip()
            for line in self.cleaned_data["whitelisted_domains"].splitlines()
            if line.strip()
        ]


class VariableForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="e.g. customer.attributes.city or event.coupon_code"
    )
    type = forms.ChoiceField(
        choices=[(t, t) for t in ("text", "number", "money", "date", "url", "phone")]
    )
    sample = forms.CharField(max_length=200, required=False)
    description = forms.CharField(max_length=200, required=False)
