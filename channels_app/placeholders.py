"""A restricted placeholder syntax for text that operators write (pure Python, no Django).

Operator-authored text is never given to Django's template engine or to ``eval``: it is scanned
here into literal pieces and placeholders, and rendering only pastes ``str(value)`` between the
literal pieces, so a value that itself contains ``{{x}}`` stays literal.

Three styles:

- ``named``: ``{{customer.name}}`` or ``{{ customer.name }}``; a name is one or more dot-separated
  segments of ``[a-z_][a-z0-9_]*``, and a segment may not start with ``__``.
- ``numbered``: WhatsApp's ``{{1}}``, ``{{2}}``, written without spaces, numbered from 1 with
  no gaps.
- ``dlt``: DLT slots ``{#var#}`` (and the typed slots some operators offer, see ``DLT_SLOT_KINDS``).
  Slots are positional: the n-th slot is named ``"n"`` (``"1"``, ``"2"``, ...).

In every style ``{% ... %}`` is refused, as are filters (``|``), calls (``()``) and nested braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

STYLES = ("named", "numbered", "dlt")
# The reference confirms only {#var#}; the typed kinds are offered by some DLT portals.
DLT_SLOT_KINDS = frozenset({"var", "numeric", "alphanumeric", "url", "urlott", "cbn", "email"})

_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")
_NUMBER_RE = re.compile(r"[1-9][0-9]*")
_EXAMPLE = {"named": "{{customer.name}}", "numbered": "{{1}}", "dlt": "{#var#}"}


class PlaceholderSyntaxError(ValueError):
    """The text has malformed placeholders; ``errors`` holds one message per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class MissingVariable(KeyError):
    """Rendering lacked values; ``names`` lists every missing variable, in order of appearance."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"missing values for: {', '.join(names)}")
        self.names = names


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass(frozen=True)
class _Scan:
    pieces: tuple[str | _Slot, ...]
    errors: tuple[str, ...]


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")


def _named_inner_error(raw: str, inner: str) -> str | None:
    """Why ``{{inner}}`` is not a valid named placeholder, or None when it is."""
    name = inner.strip()
    if not name:
        return f"'{raw}' is empty: put a variable name inside, e.g. {{{{customer.name}}}}."
    if "|" in name:
        plain = name.split("|")[0].strip() or "name"
        return f"'{raw}' uses a filter, which is not supported: write {{{{{plain}}}}}."
    if "(" in name or ")" in name:
        plain = name.split("(")[0].strip() or "name"
        return f"'{raw}' calls something, which is not allowed: write {{{{{plain}}}}}."
    if _NUMBER_RE.fullmatch(name):
        return f"'{raw}' is a numbered variable: this text uses names, e.g. {{{{customer.name}}}}."
    if any(seg.startswith("__") for seg in name.split(".")):
        return f"'{raw}' names a private attribute ('__'): use a plain variable name instead."
    if not _NAME_RE.fullmatch(name):
        return (
            f"'{raw}' is not a valid variable name: use lower-case letters, digits, underscores "
            "and dots, e.g. {{customer.name}}."
        )
    return None


def _numbered_inner_error(raw: str, inner: str) -> str | None:
    """Why ``{{inner}}`` is not a valid WhatsApp numbered variable, or None when it is."""
    name = inner.strip()
    if _NUMBER_RE.fullmatch(inner):
        return None
    if _NUMBER_RE.fullmatch(name):
        return f"'{raw}' has spaces: write {{{{{name}}}}}."
    if name.isdigit():
        return f"'{raw}' is not a valid number: variables are numbered from {{{{1}}}}."
    return f"'{raw}' is not a numbered variable: WhatsApp bodies use {{{{1}}}}, {{{{2}}}}, ..."


def _scan_double_brace(text: str, start: int, style: str) -> tuple[int, str | _Slot, str | None]:
    """Read the ``{{ ... }}`` starting at ``start``; return (end, piece, error)."""
    close = text.find("}}", start + 2)
    if close == -1:
        snippet = text[start : start + 20]
        return len(text), text[start:], f"'{snippet}' opens '{{{{' but never closes it: add '}}}}'."
    raw, inner = text[start : close + 2], text[start + 2 : close]
    if style == "dlt":
        return close + 2, raw, f"'{raw}' is not a DLT slot: DLT templates use {{#var#}}."
    if "{" in inner:
        return close + 2, raw, f"'{raw}' has nested braces: write one variable per {{{{ }}}}."
    checker = _named_inner_error if style == "named" else _numbered_inner_error
    error = checker(raw, inner)
    return close + 2, (raw if error else _Slot(inner.strip())), error


def _scan_hash_brace(
    text: str, start: int, style: str, slot_count: int
) -> tuple[int, str | _Slot, str | None]:
    """Read the ``{# ... #}`` starting at ``start``; return (end, piece, error)."""
    close = text.find("#}", start + 2)
    if close == -1:
        snippet = text[start : start + 20]
        return len(text), text[start:], f"'{snippet}' opens '{{#' but never closes it: add '#}}'."
    raw, kind = text[start : close + 2], text[start + 2 : close]
    if style != "dlt":
        return close + 2, raw, f"'{raw}' is a DLT slot: here write {_EXAMPLE[style]}."
    if kind in DLT_SLOT_KINDS:
        return close + 2, _Slot(str(slot_count + 1)), None
    return close + 2, raw, f"'{raw}' is not a DLT slot: write {{#var#}}."


def _scan_tag(text: str, start: int) -> tuple[int, str, str]:
    close = text.find("%}", start + 2)
    end = len(text) if close == -1 else close + 2
    raw = text[start:end]
    return end, raw, f"'{raw[:40]}' is a template tag, which is not allowed: remove it."


@lru_cache(maxsize=4096)
def _scan(text: str, style: str) -> _Scan:
    """Split ``text`` into literal strings and slots, collecting a message for each problem.
    Pure and immutable, so a template body sent to many customers is scanned once."""
    _check_style(style)
    pieces: list[str | _Slot] = []
    errors: list[str] = []
    literal_start = i = 0
    while i < len(text):
        two = text[i : i + 2]
        if two not in ("{{", "{%", "{#", "}}"):
            i += 1
            continue
        pieces.append(text[literal_start:i])
        if two == "{{":
            i, piece, error = _scan_double_brace(text, i, style)
        elif two == "{#":
            slots = sum(isinstance(p, _Slot) for p in pieces)
            i, piece, error = _scan_hash_brace(text, i, style, slots)
        elif two == "{%":
            i, piece, error = _scan_tag(text, i)
        else:
            i, piece = i + 2, "}}"
            error = "Stray '}}' without a matching '{{': remove it or add the opening '{{'."
        pieces.append(piece)
        if error and error not in errors:
            errors.append(error)
        literal_start = i
    pieces.append(text[literal_start:])
    return _Scan(tuple(p for p in pieces if p != ""), tuple(errors))


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def placeholder_names(text: str, *, style: str) -> list[str]:
    """Names of the well-formed placeholders in ``text``, each once, in order of first appearance.

    Malformed placeholders are skipped (``placeholder_errors`` reports them). For ``dlt`` the
    names are the slot positions ``"1"``, ``"2"``, ...
    """
    return _unique(p.name for p in _scan(text, style).pieces if isinstance(p, _Slot))


def _numbering_errors(names: list[str]) -> list[str]:
    numbers = sorted(int(n) for n in names)
    expected = list(range(1, len(numbers) + 1))
    if numbers == expected:
        return []
    missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
    gaps = ", ".join(f"{{{{{n}}}}}" for n in missing)
    return [f"Variables skip {gaps}: number them {{{{1}}}}, {{{{2}}}}, ... without gaps."]


def placeholder_errors(
    text: str, *, style: str, known: set[str] | frozenset[str] | None = None
) -> list[str]:
    """Human-readable problems with the placeholders in ``text``; empty when it is fine.

    Reports malformed placeholders (tags, filters, calls, private names, nested or unbalanced
    braces), numbered variables that skip a number, and, when ``known`` is given, names that are
    not in ``known`` (ignored for ``dlt``, whose slots are positional).
    """
    scan = _scan(text, style)
    errors = list(scan.errors)
    names = _unique(p.name for p in scan.pieces if isinstance(p, _Slot))
    if style == "numbered" and names:
        errors.extend(_numbering_errors(names))
    if known is not None and style != "dlt":
        unknown = [n for n in names if n not in known]
        if unknown:
            label = "Unknown variable" if len(unknown) == 1 else "Unknown variables"
            listed = ", ".join(f"'{n}'" for n in unknown)
            hint = ", ".join(sorted(known)[:8]) or "none are defined"
            errors.append(f"{label} {listed}: use a known variable ({hint}).")
    return errors


_ABSENT = object()


def _lookup(values: Mapping[str, object], name: str) -> object:
    """``values[name]``, or nested mappings along the dots; never attribute access."""
    if name in values:
        return values[name]
    current: object = values
    for segment in name.split("."):
        if not isinstance(current, Mapping) or segment not in current:
            return _ABSENT
        current = current[segment]
    return current


def placeholder_render(text: str, values: Mapping[str, object], *, style: str) -> str:
    """Fill the placeholders of ``text`` with ``str(value)``, never re-reading the values.

    A dotted name is looked up as a flat key first (``values["customer.name"]``), then through
    nested mappings (``values["customer"]["name"]``); objects' attributes are never read. A value
    of ``None`` counts as missing. Raises ``PlaceholderSyntaxError`` for malformed text (including
    any ``{% ... %}``) and ``MissingVariable`` naming every missing variable.
    """
    scan = _scan(text, style)
    if scan.errors:
        raise PlaceholderSyntaxError(list(scan.errors))
    out: list[str] = []
    missing: list[str] = []
    for piece in scan.pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        value = _lookup(values, piece.name)
        if value is _ABSENT or value is None:
            missing.append(piece.name)
        else:
            out.append(str(value))
    if missing:
        raise MissingVariable(_unique(missing))
    return "".join(out)


# --- typed variables ---------------------------------------------------------------------------

VARIABLE_TYPES = ("text", "number", "money", "date", "url", "phone")
_MONTHS = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "hi": (
        "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
        "जुलाई", "अगस्त", "सितंबर", "अक्तूबर", "नवंबर", "दिसंबर",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Variable:
    """A variable a template may use: its dotted ``name``, value ``type`` and where it comes from.

    ``source`` is free text for the operator (e.g. "customer", "event", "journey context").
    """

    name: str
    type: str
    source: str

    def __post_init__(self) -> None:
        if not _NAME_RE.fullmatch(self.name) or "__" in self.name:
            raise ValueError(f"variable name {self.name!r} must look like customer.name")
        if self.type not in VARIABLE_TYPES:
            raise ValueError(f"variable type must be one of {', '.join(VARIABLE_TYPES)}")


def indian_grouping(digits: str) -> str:
    """Group an unsigned integer string the Indian way: "123456" -> "1,23,456"."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs = [head[max(i - 2, 0) : i] for i in range(len(head), 0, -2)]
    return ",".join(reversed(pairs)) + "," + tail


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a number cannot be a bool")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _format_decimal(number: Decimal, places: int | None) -> str:
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    return sign + indian_grouping(whole) + (f".{fraction}" if fraction else "")


def _format_date(value: object, language: str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value.strip()[:10])
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise TypeError(f"{value!r} is not a date")
    months = _MONTHS.get(language.split("_")[0].split("-")[0].lower(), _MONTHS["en"])
    return f"{value.day} {months[value.month - 1]} {value.year}"


def _format_phone(value: object) -> str:
    raw = str(value).strip()
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 12 and digits.startswith("91"):
        digits = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        digits = digits[1:]
    if len(digits) == 10 and digits[0] in "6789":
        return f"+91 {digits[:5]} {digits[5:]}"
    return raw


def variable_format(value: object, type: str, language: str = "en") -> str:
    """Format ``value`` for a message according to its variable ``type``.

    - number: Indian digit grouping, decimals kept as given ("1,23,456.5");
    - money: rupees with two decimals, rounded half up ("₹1,23,456.00", "-₹5.00");
    - date: "5 Dec 2026" (Hindi month names for ``hi``); a datetime is formatted by its own date,
      so convert it to the customer's zone first; ISO strings are accepted;
    - phone: Indian mobile numbers as "+91 98765 43210", anything else unchanged;
    - text and url: ``str(value)``.

    Digits stay ASCII in every language. Raises ValueError/TypeError for values of the wrong kind.
    """
    if type not in VARIABLE_TYPES:
        raise ValueError(f"type must be one of {', '.join(VARIABLE_TYPES)}")
    if type == "number":
        return _format_decimal(_as_decimal(value), None)
    if type == "money":
        amount = _as_decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return ("-₹" if amount < 0 else "₹") + _format_decimal(abs(amount), 2)
    if type == "date":
        return _format_date(value, language)
    if type == "phone":
        return _format_phone(value)
    return str(value)
