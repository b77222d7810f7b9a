"""The Policies page's forms: the policy editor (flat field names <-> PolicyConfig) and the
"check a send" tool.

The editor's inputs are named by the dotted path pydantic reports errors at
(``send_windows.1.end``, ``costs.sms.exotel.promotional``), so every error lands next to its input.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django import forms
from django.http import QueryDict

from channels_app.policies.schemas import COST_CATEGORIES, WINDOW_CHANNELS, WINDOW_PURPOSES
from channels_app.policy import CHANNELS, PURPOSES

FIELD_LABELS = {
    "promotional_daily_cap": "Promotional messages per customer per day",
    "total_daily_cap": "Messages of any kind per customer per day",
    "echo_window_minutes": "No-echo window (minutes)",
    "ncpr_category": "NCPR category",
}
SCALARS = tuple(FIELD_LABELS)
BLANK_WINDOW_ROWS = 2


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def policy_data_from_post(post: QueryDict) -> dict:
    """The nested dict PolicyConfig parses, from the editor's flat inputs.

    Empty caps and category mean "none"; a window row with no channel and no times is dropped
    (that is how a row is removed); an empty cost cell removes that rate.
    """
    data: dict = {name: _blank_to_none(post.get(name)) for name in SCALARS if name in post}
    if "echo_window_minutes" in data and data["echo_window_minutes"] is None:
        data["echo_window_minutes"] = 0
    rows: dict[int, dict] = defaultdict(dict)
    costs: dict = defaultdict(lambda: defaultdict(dict))
    for key in post:
        parts = key.split(".")
        if parts[0] == "send_windows" and len(parts) == 3 and parts[1].isdigit():
            rows[int(parts[1])][parts[2]] = post.get(key, "").strip()
        elif parts[0] == "costs" and len(parts) == 4:
            value = post.get(key, "").strip()
            if value:
                costs[parts[1]][parts[2]][parts[3]] = value
    if "send_windows.present" in post:
        data["send_windows"] = [
            row
            for _, row in sorted(rows.items())
            if row.get("channel") or row.get("start") or row.get("end")
        ]
    if "costs.present" in post:
        data["costs"] = {ch: {pr: dict(r) for pr, r in prov.items()} for ch, prov in costs.items()}
    return data


def _hhmm(value) -> str:
    text = str(value or "")
    return text[:5] if len(text) >= 5 and text[2] == ":" else text


def _errors_under(errors: dict[str, list[str]], prefix: str) -> list[str]:
    return [
        m
        for key, msgs in errors.items()
        if key == prefix or key.startswith(prefix + ".")
        for m in msgs
    ]


def policy_form_context(raw: dict, errors: dict[str, list[str]] | None = None) -> dict:
    """What the editor template shows: ``raw`` is a PolicyConfig's JSON or the submitted data."""
    errors = errors or {}
    scalars = [
        {
            "name": n,
            "label": FIELD_LABELS[n],
            "value": "" if raw.get(n) is None else raw.get(n),
            "errors": errors.get(n, []),
        }
        for n in SCALARS
    ]
    windows = [
        {
            "index": i,
            "channel": w.get("channel", ""),
            "purpose": w.get("purpose", ""),
            "start": _hhmm(w.get("start")),
            "end": _hhmm(w.get("end")),
            "errors": _errors_under(errors, f"send_windows.{i}"),
        }
        for i, w in enumerate(list(raw.get("send_windows") or []))
    ]
    for _ in range(BLANK_WINDOW_ROWS):
        windows.append(
            {
                "index": len(windows),
                "channel": "",
                "purpose": "",
                "start": "",
                "end": "",
                "errors": [],
            }
        )
    known = {k for k in errors if k.split(".")[0] in SCALARS}
    known |= {k for k in errors if k.startswith("send_windows.")}
    return {
        "scalars": scalars,
        "windows": windows,
        "window_channels": WINDOW_CHANNELS,
        "window_purposes": WINDOW_PURPOSES,
        "cost_tables": _cost_tables(raw.get("costs") or {}, errors),
        "other_errors": {
            k: v
            for k, v in errors.items()
            if k not in known and not (k.startswith("costs.") and k.count(".") == 3)
        },
    }


def _cost_tables(costs: dict, errors: dict) -> list[dict]:
    tables = []
    for channel in CHANNELS:
        providers = list((costs.get(channel) or {}).keys())
        rows = []
        for category in COST_CATEGORIES[channel]:
            cells = []
            for provider in providers:
                name = f"costs.{channel}.{provider}.{category}"
                value = (costs[channel].get(provider) or {}).get(category, "")
                cells.append({"name": name, "value": value, "errors": errors.get(name, [])})
            rows.append({"category": category, "cells": cells})
        tables.append({"channel": channel, "providers": providers, "rows": rows})
    return tables


class SendCheckForm(forms.Form):
    """Inputs of the "check a send" tool; ``at`` is a wall time in the customer's zone."""

    TEMPLATE_STATUSES = [
        ("", "none / not a template"),
        ("approved", "approved"),
        ("pending", "pending"),
        ("rejected", "rejected"),
        ("paused", "paused"),
        ("disabled", "disabled"),
    ]
    CATEGORIES = [
        ("", "—"),
        ("marketing", "WhatsApp marketing"),
        ("utility", "WhatsApp utility"),
        ("authentication", "WhatsApp authentication"),
        ("transactional", "SMS transactional"),
        ("service", "SMS service"),
        ("promotional", "SMS promotional"),
    ]

    customer = forms.CharField(max_length=100, help_text="External id or phone number")
    channel = forms.ChoiceField(choices=[(c, c) for c in CHANNELS])
    purpose = forms.ChoiceField(choices=[(p, p) for p in PURPOSES])
    template_family = forms.CharField(max_length=64, required=False)
    template_status = forms.ChoiceField(choices=TEMPLATE_STATUSES, required=False)
    template_category = forms.ChoiceField(choices=CATEGORIES, required=False)
    session_message = forms.BooleanField(required=False, help_text="Free-form WhatsApp reply")
    collection = forms.BooleanField(required=False, help_text="Collection/reminder call")
    at = forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="In the customer's time zone; empty = now",
    )

    def wall_time(self) -> datetime | None:
        """The naive wall time entered (Django made it aware in the server zone; undo that)."""
        value = self.cleaned_data.get("at")
        return value.replace(tzinfo=None) if value is not None else None
