"""Schemas at the edge: every JSON body is parsed here before a service sees it."""

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from console.models import LANGUAGES
from console.phones import PhoneError, phone_normalize

LANGUAGE_CODES = [code for code, _ in LANGUAGES]
EVENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
ATTRIBUTE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{value}' is not an IANA time zone; use e.g. Asia/Kolkata.") from exc
    return value


def check_language(value: str) -> str:
    code = value.strip().lower()
    if code not in LANGUAGE_CODES:
        raise ValueError(
            f"'{value}' is not a supported language; use one of {', '.join(LANGUAGE_CODES)}."
        )
    return code


def check_attributes(value: dict[str, Any]) -> dict[str, Any]:
    bad = [k for k in value if not ATTRIBUTE_KEY_RE.match(k)]
    if bad:
        raise ValueError(
            f"Attribute names must start with a letter or underscore and hold only letters, digits "
            f"and underscores (at most 64): fix {', '.join(repr(b) for b in bad[:5])}."
        )
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerFields(Strict):
    """Profile fields shared by the upsert body and an event's inline customer."""

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = None
    email: str | None = Field(default=None, max_length=254)
    language: str | None = None
    timezone: str | None = None
    whatsapp: bool | None = None
    attributes: dict[str, Any] | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return phone_normalize(value)
        except PhoneError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError(f"'{value}' is not an email address (name@example.com).") from exc
        return value.lower()

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return check_language(value) if value else None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return check_timezone(value) if value else None

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_attributes(value) if value is not None else None


class CustomerIn(CustomerFields):
    external_id: str = Field(min_length=1, max_length=100)


class CustomerBatchIn(Strict):
    customers: list[dict[str, Any]] = Field(max_length=1000)


class EventCustomerRef(CustomerFields):
    external_id: str = Field(min_length=1, max_length=100)


class EventIn(Strict):
    event_id: str = Field(min_length=1, max_length=200)
    customer: EventCustomerRef
    name: str = Field(min_length=1, max_length=100)
    occurred_at: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not EVENT_NAME_RE.match(value):
            raise ValueError(
                f"'{value}' is not an event name: use lower-case dotted words such as order.placed."
            )
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("Give occurred_at with a time zone, e.g. 2026-12-04T10:30:00+05:30.")
        return value


class EventBatchIn(Strict):
    events: list[dict[str, Any]] = Field(max_length=1000)
    all_or_nothing: bool = False


def validation_fields(errors: list[dict], *, drop: int = 0) -> dict[str, list[str]]:
    """pydantic errors as {"dotted.field": [message, ...]} with messages a person can act on."""
    fields: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())][drop:]
        name = ".".join(loc) or "body"
        message = err.get("msg", "is invalid")
        message = message.removeprefix("Value error, ")
        if err.get("type") == "missing":
            message = "This field is required."
        elif err.get("type") == "extra_forbidden":
            message = "Unknown field; remove it (check the spelling against the API docs)."
        fields.setdefault(name, []).append(message)
    return fields
