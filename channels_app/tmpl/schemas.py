"""The shapes of a template version's JSON columns, parsed at the edge.

``fields`` holds what is shared by every language of a version; ``variants`` maps a language code
to that language's text. Each channel has its own pair of shapes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SmsFields(_Shape):
    header: str = ""
    entity_id: str = ""


class SmsVariant(_Shape):
    """Body with named placeholders; each occurrence becomes one DLT ``{#var#}`` slot, in order."""

    body: str = ""
    dlt_template_id: str = ""


class WhatsAppButton(_Shape):
    type: str
    text: str
    url: str = ""
    phone: str = ""


class WhatsAppFields(_Shape):
    category: str = "UTILITY"
    provider_name: str = ""
    header_type: str = "none"


class WhatsAppVariant(_Shape):
    """Meta's numbered body plus which named variable fills each number, and sample values."""

    header_text: str = ""
    header_variable: str = ""
    header_sample: str = ""
    body: str = ""
    body_variables: dict[str, str] = Field(default_factory=dict)
    body_samples: dict[str, str] = Field(default_factory=dict)
    footer: str = ""
    buttons: list[WhatsAppButton] = Field(default_factory=list)


class VoiceFields(_Shape):
    menu: dict[str, str] = Field(default_factory=dict)
    retries: int = 2


class VoiceVariant(_Shape):
    prompt: str = ""
    no_input_prompt: str = ""
    invalid_prompt: str = ""


SHAPES: dict[str, tuple[type[_Shape], type[_Shape]]] = {
    "sms": (SmsFields, SmsVariant),
    "whatsapp": (WhatsAppFields, WhatsAppVariant),
    "voice": (VoiceFields, VoiceVariant),
}


class ShapeError(ValueError):
    """The JSON does not have the expected shape; ``errors`` maps a field to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _parse(shape: type[_Shape], data: Any, prefix: str = "") -> _Shape:
    try:
        return shape.model_validate(data or {})
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for item in exc.errors():
            field = prefix + str(item["loc"][0]) if item["loc"] else prefix.rstrip(":") or "__all__"
            errors.setdefault(field, []).append(item["msg"])
        raise ShapeError(errors) from None


def fields_parse(channel: str, data: Any) -> Any:
    return _parse(SHAPES[channel][0], data)


def variant_parse(channel: str, data: Any, language: str = "") -> Any:
    return _parse(SHAPES[channel][1], data, f"{language}:" if language else "")


def variants_parse(channel: str, data: dict[str, Any]) -> dict[str, Any]:
    return {lang: variant_parse(channel, raw, lang) for lang, raw in (data or {}).items()}
