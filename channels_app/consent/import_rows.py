"""The CSV column sets of each import kind, and the parsing of one row (pure, no database).

Each parser turns a row (column -> cell text) into the input its service takes, or raises
RowError whose message names the column and the fix.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from io import StringIO

from pydantic import BaseModel, ValidationError

from channels_app.consent.schemas import ConsentError, ConsentIn, DndIn, PreferencesIn, schema_parse
from console.schemas import CustomerIn, validation_fields

ATTRIBUTE_PREFIX = "attr."
TRUE_WORDS = {"1", "true", "yes", "y"}
FALSE_WORDS = {"0", "false", "no", "n"}


@dataclass(frozen=True)
class ImportSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str
    sample: tuple[tuple[str, ...], ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


SPECS: dict[str, ImportSpec] = {
    "customers": ImportSpec(
        required=("external_id",),
        optional=("name", "phone", "email", "language", "timezone", "whatsapp"),
        description="Creates or updates customers by external_id. Empty cells leave a field as "
        "it is; columns named attr.<name> set attributes.",
        sample=(
            (
                "external_id",
                "name",
                "phone",
                "email",
                "language",
                "timezone",
                "whatsapp",
                "attr.city",
            ),
            (
                "CUST900001",
                "Priya Sharma",
                "+919812345678",
                "priya@example.in",
                "hi",
                "Asia/Kolkata",
                "yes",
                "Delhi",
            ),
            ("CUST900002", "Karthik Iyer", "9876543210", "", "ta", "", "no", "Chennai"),
        ),
    ),
    "consent": ImportSpec(
        required=("external_id", "channel", "purpose", "status"),
        optional=("source", "proof", "reason", "at", "expires_at"),
        description="Appends one ledger entry per row. channel: sms, whatsapp, voice; purpose: "
        "transactional, service, promotional; status: granted, withdrawn; source defaults to "
        "import; grants of service/promotional consent need proof; at and expires_at are "
        "ISO times with a zone (at defaults to now).",
        sample=(
            (
                "external_id",
                "channel",
                "purpose",
                "status",
                "source",
                "proof",
                "reason",
                "at",
                "expires_at",
            ),
            (
                "CUST900001",
                "whatsapp",
                "promotional",
                "granted",
                "form",
                "Signup form #A-1029 (checkbox ticked)",
                "",
                "2026-11-02T10:15:00+05:30",
                "",
            ),
            (
                "CUST900002",
                "sms",
                "promotional",
                "withdrawn",
                "import",
                "",
                "Opted out in store",
                "",
                "",
            ),
        ),
    ),
    "preferences": ImportSpec(
        required=("external_id",),
        optional=(
            "preferred_channels",
            "language",
            "quiet_start",
            "quiet_end",
            "do_not_call",
            "dnd",
            "dnd_categories",
            "dnd_source",
        ),
        description="Updates preferences; empty cells leave a setting as it is. "
        "preferred_channels: channels in order separated by |; quiet_start/quiet_end: HH:MM "
        "local time; do_not_call and dnd: yes or no; dnd_categories: NCPR categories 1-8 "
        "separated by | (none = fully blocked).",
        sample=(
            (
                "external_id",
                "preferred_channels",
                "language",
                "quiet_start",
                "quiet_end",
                "do_not_call",
                "dnd",
                "dnd_categories",
                "dnd_source",
            ),
            ("CUST900001", "whatsapp|sms", "hi", "22:00", "08:00", "no", "", "", ""),
            ("CUST900002", "sms|voice", "", "", "", "yes", "yes", "1|4", "NCPR scrub"),
        ),
    ),
}


class RowError(ValueError):
    """A row that cannot be imported; the message says which column and how to fix it."""


def sample_csv(kind: str) -> str:
    out = StringIO()
    csv.writer(out).writerows(SPECS[kind].sample)
    return out.getvalue()


# --- parsing one row ------------------------------------------------------------------------


def fields_message(fields: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def _flag(column: str, value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowError(f"{column}: '{value}' is not yes or no.")


def _parse(schema: type[BaseModel], data: dict) -> BaseModel:
    try:
        return schema_parse(schema, data)
    except ConsentError as exc:
        raise RowError(fields_message(exc.fields)) from exc


def parse_customer_row(row: dict[str, str]) -> CustomerIn:
    data: dict = {}
    attributes = {}
    for column, value in row.items():
        if value is None or value.strip() == "":
            continue
        if column.startswith(ATTRIBUTE_PREFIX):
            attributes[column[len(ATTRIBUTE_PREFIX) :]] = value.strip()
        elif column == "whatsapp":
            data["whatsapp"] = _flag(column, value)
        else:
            data[column] = value
    if attributes:
        data["attributes"] = attributes
    try:
        return CustomerIn.model_validate(data)
    except ValidationError as exc:
        raise RowError(fields_message(validation_fields(exc.errors()))) from exc


def parse_consent_row(row: dict[str, str]) -> ConsentIn:
    data = {k: v for k, v in row.items() if k != "external_id" and v not in (None, "")}
    data.setdefault("source", "import")
    return _parse(ConsentIn, data)


def parse_preferences_row(row: dict[str, str]) -> tuple[dict, DndIn | None]:
    """Preference changes for preferences_set and, when a dnd column is filled, a DND record."""
    cells = {k: (v or "").strip() for k, v in row.items()}
    changes: dict = {}
    if cells.get("preferred_channels"):
        changes["preferred_channels"] = cells["preferred_channels"].split("|")
    if cells.get("language"):
        changes["language"] = cells["language"]
    if cells.get("quiet_start") or cells.get("quiet_end"):
        changes["quiet_start"] = cells.get("quiet_start") or None
        changes["quiet_end"] = cells.get("quiet_end") or None
    if cells.get("do_not_call"):
        changes["do_not_call"] = _flag("do_not_call", cells["do_not_call"])
    _parse(PreferencesIn, changes)
    dnd = None
    if cells.get("dnd"):
        try:
            categories = [int(c) for c in cells.get("dnd_categories", "").split("|") if c.strip()]
        except ValueError as exc:
            raise RowError("dnd_categories: give numbers 1-8 separated by |, e.g. 1|4.") from exc
        dnd = _parse(
            DndIn,
            {
                "dnd": _flag("dnd", cells["dnd"]),
                "categories": categories,
                "source": cells.get("dnd_source", ""),
            },
        )
    elif cells.get("dnd_categories"):
        raise RowError("dnd: fill dnd (yes or no) when giving dnd_categories.")
    if not changes and dnd is None:
        raise RowError("The row changes nothing: fill at least one column besides external_id.")
    return changes, dnd


PARSERS = {
    "customers": parse_customer_row,
    "consent": parse_consent_row,
    "preferences": parse_preferences_row,
}


def header_check(kind: str, header: list[str]) -> None:
    spec = SPECS[kind]
    names = [h.strip() for h in header]
    missing = [c for c in spec.required if c not in names]
    unknown = [
        h
        for h in names
        if h not in spec.columns and not (kind == "customers" and h.startswith(ATTRIBUTE_PREFIX))
    ]
    problems = []
    if missing:
        problems.append(f"missing required column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"unknown column(s) {', '.join(unknown)} (allowed: {', '.join(spec.columns)})"
        )
    if problems:
        raise RowError("The header row has " + " and ".join(problems) + ".")
