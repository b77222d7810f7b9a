"""Consent and preference input, parsed at the edge (API, forms, CSV rows) before a service acts."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from channels_app.consent_ledger import CHANNELS, ENTRY_STATUSES, PURPOSES, SOURCES
from console.schemas import check_language, validation_fields

# Grants of these purposes from these sources must carry proof (DPDP: the business must be
# able to show notice and consent). Keywords carry the inbound text; support gives a reason.
PROOF_NEEDED_SOURCES = frozenset({"form", "ivr", "import", "api"})


class ConsentError(ValueError):
    """Bad consent or preference input: ``fields`` maps each field to what to fix."""

    def __init__(
        self, fields: dict[str, list[str]], detail: str = "Some fields are invalid."
    ) -> None:
        super().__init__(detail)
        self.fields = fields
        self.detail = detail

    @classmethod
    def from_pydantic(cls, exc: ValidationError) -> ConsentError:
        return cls(validation_fields(exc.errors()))


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    text = (value or "").strip().lower()
    if text not in allowed:
        raise ValueError(f"'{value}' is not a {name}; use one of {', '.join(allowed)}.")
    return text


class ConsentIn(BaseModel):
    """One ledger entry to append. ``reason`` is what support staff type; ``proof`` a reference."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: str
    purpose: str
    status: str
    source: str
    proof: str = Field(default="", max_length=500)
    reason: str = Field(default="", max_length=500)
    at: datetime | None = None
    expires_at: datetime | None = None

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _one_of("channel", value, CHANNELS)

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        return _one_of("purpose", value, PURPOSES)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return _one_of("status", value, ENTRY_STATUSES)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return _one_of("source", value, SOURCES)

    @field_validator("at", "expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("Give the time with a zone, e.g. 2026-12-04T10:30:00+05:30.")
        return value

    @model_validator(mode="after")
    def _rules(self) -> ConsentIn:
        if self.source == "support" and not self.reason:
            raise ValueError(
                "reason: Support staff must give a reason (what the customer asked for)."
            )
        needs_proof = self.status == "granted" and self.purpose != "transactional"
        if needs_proof and self.source in PROOF_NEEDED_SOURCES and not self.proof:
            raise ValueError(
                "proof: Give proof of this grant (form submission id, IVR call id, document "
                "reference): DPDP requires the business to be able to show consent."
            )
        if self.expires_at is not None and self.status != "granted":
            raise ValueError("expires_at: Only a grant can expire; leave expires_at empty.")
        if self.expires_at is not None and self.at is not None and self.expires_at <= self.at:
            raise ValueError("expires_at: The expiry must be after the time of the grant.")
        return self


def consent_in_parse(data: dict) -> ConsentIn:
    """ConsentIn from a dict, raising ConsentError whose fields name what to fix."""
    return schema_parse(ConsentIn, data)


class PreferencesIn(BaseModel):
    """Preference changes; only the fields given change. Empty quiet hours clear them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    preferred_channels: list[str] | None = None
    language: str | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    do_not_call: bool | None = None

    @field_validator("preferred_channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [_one_of("channel", v, CHANNELS) for v in value if v and v.strip()]
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("List each channel once, in the order the customer prefers.")
        return cleaned

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return check_language(value) if value else None

    @model_validator(mode="after")
    def _quiet(self) -> PreferencesIn:
        sent = self.model_fields_set
        if ("quiet_start" in sent) != ("quiet_end" in sent):
            raise ValueError("quiet_end: Give both quiet_start and quiet_end, or neither.")
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet_end: Give both quiet hours, or clear both.")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet_end: Quiet hours must end at a different time than they start.")
        return self


class DndIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    dnd: bool
    categories: list[int] = Field(default_factory=list)
    source: str = Field(default="", max_length=100)

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[int]) -> list[int]:
        bad = [v for v in value if not 1 <= v <= 8]
        if bad:
            raise ValueError(f"NCPR categories are 1 to 8; remove {', '.join(map(str, bad))}.")
        return sorted(set(value))


def schema_parse(schema: type[BaseModel], data: dict) -> BaseModel:
    """Any of the schemas above from a dict, raising ConsentError with named fields."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for name, messages in validation_fields(exc.errors()).items():
            for message in messages:
                # model-level rules start their message with the field they concern
                field, sep, rest = message.partition(": ")
                if name == "body" and sep and field in schema.model_fields:
                    fields.setdefault(field, []).append(rest)
                else:
                    fields.setdefault(name, []).append(message)
        raise ConsentError(fields) from exc
