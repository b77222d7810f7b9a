"""The shape of a workspace's send policy, parsed at the edge (forms, API, the JSON columns).

Defaults follow the rules in shared/REFERENCE-india.md: promotional SMS and calls 09:00-21:00,
collection/reminder calls 08:00-19:00 (both also enforced as a floor by channels_app.policy),
at most 1 promotional and 3 messages of any kind per customer per day, a 6-hour no-echo window.
Cost defaults are indicative INR list prices for estimates; operations should set their own.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from console.schemas import validation_fields

CHANNELS = ("sms", "whatsapp", "voice")
WINDOW_CHANNELS = (*CHANNELS, "*")
WINDOW_PURPOSES = ("transactional", "service", "promotional", "collection", "*")
# What a cost is charged per: SMS per segment by DLT category, WhatsApp per template category,
# voice per started minute.
COST_CATEGORIES = {
    "sms": ("transactional", "service", "promotional"),
    "whatsapp": ("marketing", "utility", "authentication"),
    "voice": ("minute",),
}
PROVIDER_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

_CENTS = Decimal("0.0001")
Amount = Annotated[Decimal, Field(ge=0, le=10000, decimal_places=4)]


def default_send_windows() -> list[dict]:
    return [
        {"channel": "sms", "purpose": "promotional", "start": "09:00", "end": "21:00"},
        {"channel": "voice", "purpose": "promotional", "start": "09:00", "end": "21:00"},
        {"channel": "voice", "purpose": "collection", "start": "08:00", "end": "19:00"},
    ]


def default_costs() -> dict:
    sms = {"transactional": "0.1400", "service": "0.1400", "promotional": "0.1200"}
    meta = {"marketing": "0.7846", "utility": "0.1150", "authentication": "0.1150"}
    twilio_wa = {"marketing": "1.2046", "utility": "0.5350", "authentication": "0.5350"}
    return {
        "sms": {"exotel": dict(sms), "twilio": {k: "0.4500" for k in sms}, "simulator": dict(sms)},
        "whatsapp": {"meta": meta, "twilio": twilio_wa, "simulator": dict(meta)},
        "voice": {
            "exotel": {"minute": "0.6000"},
            "twilio": {"minute": "3.6000"},
            "simulator": {"minute": "0.6000"},
        },
    }


class PolicyError(ValueError):
    """Bad policy input; ``fields`` maps a dotted field name to messages saying what to fix."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not '{value}'.")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_default=True)


class SendWindowIn(_Strict):
    """Local hours [start, end) in the customer's zone; start after end wraps midnight."""

    channel: str
    purpose: str
    start: time
    end: time

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _one_of("Channel", value, WINDOW_CHANNELS)

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        return _one_of("Purpose", value, WINDOW_PURPOSES)

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: ValidationInfo) -> time:
        if info.data.get("start") == value:
            raise ValueError(
                "The window would be the whole day: give an end different from the start."
            )
        return value


class PolicyConfig(_Strict):
    """A workspace's send policy. Empty caps mean no cap; 0 echo minutes turns the rule off."""

    promotional_daily_cap: int | None = Field(default=1, ge=0, le=50)
    total_daily_cap: int | None = Field(default=3, ge=0, le=100)
    echo_window_minutes: int = Field(default=360, ge=0, le=7 * 24 * 60)
    ncpr_category: int | None = Field(default=None, ge=1, le=8)
    send_windows: list[SendWindowIn] = Field(
        default_factory=lambda: [SendWindowIn(**w) for w in default_send_windows()], max_length=30
    )
    costs: dict[str, dict[str, dict[str, Amount]]] = Field(default_factory=default_costs)

    @field_validator("total_daily_cap")
    @classmethod
    def _total_covers_promotional(cls, value: int | None, info: ValidationInfo) -> int | None:
        promotional = info.data.get("promotional_daily_cap")
        if value is not None and promotional is not None and value < promotional:
            raise ValueError(
                f"The cap on all messages ({value}) is below the promotional cap ({promotional}): "
                "raise it or lower the promotional cap."
            )
        return value

    @field_validator("costs")
    @classmethod
    def _known_costs(cls, value: dict) -> dict:
        for channel, providers in value.items():
            _one_of("Cost channel", channel, CHANNELS)
            for provider, rates in providers.items():
                if not PROVIDER_RE.match(provider):
                    raise ValueError(f"'{provider}' is not a provider name (lower-case letters).")
                for category in rates:
                    _one_of(f"{channel} cost category", category, COST_CATEGORIES[channel])
        return {
            channel: {
                provider: {c: amount.quantize(_CENTS) for c, amount in rates.items()}
                for provider, rates in providers.items()
            }
            for channel, providers in value.items()
        }

    def as_json(self) -> dict:
        return self.model_dump(mode="json")


def policy_config_parse(data: dict) -> PolicyConfig:
    """PolicyConfig from a dict, raising PolicyError whose keys are dotted field names."""

    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(validation_fields(exc.errors())) from None
