"""Validation of SMS (DLT), WhatsApp and voice templates (pure Python, no Django).

Each ``*_template_errors`` function returns ``{field name: [messages]}`` holding only fields with
problems, so an empty dict means valid. Messages name the fix, so a form can show them as they are.
Advice that does not stop a template from working (UCS-2 cost, links to whitelist) is kept apart
in ``sms_template_warnings``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from channels_app.placeholders import placeholder_errors, placeholder_names
from channels_app.sms_encoding import sms_measure, urls_in

SMS_CATEGORIES = ("transactional", "service", "promotional")
WHATSAPP_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
WHATSAPP_HEADER_TYPES = ("none", "text", "image", "video", "document", "location")
WHATSAPP_BUTTON_TYPES = ("quick_reply", "url", "phone")
VOICE_KEYS = frozenset("0123456789*#")

# DLT template ids seen in practice are 19 digits, but portals differ and older ids are shorter;
# we check only what we can stand behind: digits, at most 30 (longer is a paste error).
DLT_TEMPLATE_ID_MAX = 30
ENTITY_ID_LENGTHS = (13, 19)
WA_HEADER_MAX, WA_BODY_MAX, WA_FOOTER_MAX, WA_BUTTON_TEXT_MAX = 60, 1024, 60, 25
WA_BUTTONS_MAX, WA_URL_BUTTONS_MAX, WA_PHONE_BUTTONS_MAX = 10, 2, 1
WA_NAME_MAX = 512
VOICE_RETRIES_MAX = 5

_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_PROVIDER_NAME_RE = re.compile(r"[a-z0-9_]+")
_SLUG_RE = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")
_PHONE_RE = re.compile(r"\+[1-9][0-9]{7,14}")


def _add(errors: dict[str, list[str]], field: str, messages: Sequence[str] | str) -> None:
    items = [messages] if isinstance(messages, str) else list(messages)
    if items:
        errors.setdefault(field, []).extend(items)


# --- SMS ---------------------------------------------------------------------------------------


def _sms_header_errors(header: str, category: str) -> list[str]:
    if len(header) != 6:
        return [f"The header must be exactly 6 characters (it has {len(header)}), e.g. HDFCBK."]
    if category == "promotional":
        if not (header.isascii() and header.isdigit()):
            return ["A promotional header is 6 digits, e.g. 567890."]
        return []
    if re.fullmatch(r"[A-Z]{6}", header):
        return []
    if re.fullmatch(r"[A-Za-z]{6}", header):
        return [f"Write the header in capitals: {header.upper()}."]
    return ["A transactional or service header is 6 letters A-Z, e.g. HDFCBK."]


def _digits_errors(value: str, label: str, lengths: tuple[int, int]) -> list[str]:
    low, high = lengths
    if not value:
        return [f"Enter the {label} from your DLT portal."]
    if not (value.isascii() and value.isdigit()):
        return [f"The {label} has digits only: remove spaces, letters and dashes."]
    if not low <= len(value) <= high:
        span = f"{low}-{high}" if low != high else str(low)
        return [f"The {label} is {span} digits long (this one has {len(value)})."]
    return []


def sms_template_errors(
    *,
    body: str,
    header: str,
    category: str,
    dlt_template_id: str,
    entity_id: str,
    known_variables: Collection[str] | None,
) -> dict[str, list[str]]:
    """Check an SMS template against DLT rules; returns field -> messages (empty when valid).

    ``body`` uses named placeholders (``{{customer.name}}``); unknown names are errors when
    ``known_variables`` is given. The header is 6 capital letters for transactional/service and
    6 digits for promotional; the entity id is 13-19 digits; the DLT template id is 1-30 digits.
    """
    errors: dict[str, list[str]] = {}
    category = (category or "").strip().lower()
    if category not in SMS_CATEGORIES:
        _add(errors, "category", "Choose a category: transactional, service or promotional.")
    _add(errors, "header", _sms_header_errors((header or "").strip(), category))
    template_id = (dlt_template_id or "").strip()
    template_id_range = (1, DLT_TEMPLATE_ID_MAX)
    _add(
        errors, "dlt_template_id", _digits_errors(template_id, "DLT template id", template_id_range)
    )
    _add(
        errors,
        "entity_id",
        _digits_errors((entity_id or "").strip(), "entity id", ENTITY_ID_LENGTHS),
    )
    if not (body or "").strip():
        _add(errors, "body", "Write the message text.")
    else:
        known = None if known_variables is None else set(known_variables)
        _add(errors, "body", placeholder_errors(body, style="named", known=known))
    return errors


def sms_template_warnings(*, body: str) -> list[str]:
    """Advice about an SMS body that does not make it invalid: encoding cost and links."""
    warnings: list[str] = []
    measure = sms_measure(body or "")
    if measure.encoding == "UCS-2":
        shown = " ".join(measure.non_gsm_chars)
        warnings.append(
            f"Characters such as {shown} make this a Unicode SMS: 70 characters per SMS "
            "instead of 160."
        )
    if measure.segments > 1:
        warnings.append(f"This text is {measure.segments} SMS parts long and is billed as such.")
    if urls_in(body or ""):
        warnings.append("Links must be whitelisted on DLT, or operators block the SMS.")
    return warnings


# --- WhatsApp ----------------------------------------------------------------------------------


def _wa_header_errors(header_type: str, header_text: str) -> list[str]:
    if header_type not in WHATSAPP_HEADER_TYPES:
        return ["Choose a header type: none, text, image, video, document or location."]
    if header_type != "text":
        return ["Header text is only used with a text header: clear it."] if header_text else []
    if not header_text.strip():
        return ["Write the header text, or choose no header."]
    problems = placeholder_errors(header_text, style="numbered", known=None)
    if len(header_text) > WA_HEADER_MAX:
        problems.append(f"Shorten the header to {WA_HEADER_MAX} characters ({len(header_text)}).")
    if len(placeholder_names(header_text, style="numbered")) > 1:
        problems.append("A header can have at most one variable: keep only {{1}}.")
    return problems


def _wa_body_errors(body: str) -> list[str]:
    if not body.strip():
        return ["Write the body: WhatsApp templates require one."]
    problems = placeholder_errors(body, style="numbered", known=None)
    if len(body) > WA_BODY_MAX:
        problems.append(f"Shorten the body to {WA_BODY_MAX} characters (it has {len(body)}).")
    return problems


def _wa_footer_errors(footer: str) -> list[str]:
    problems = []
    if len(footer) > WA_FOOTER_MAX:
        problems.append(f"Shorten the footer to {WA_FOOTER_MAX} characters (it has {len(footer)}).")
    if any(mark in footer for mark in ("{{", "}}", "{#", "{%")):
        problems.append("A footer cannot have variables: write fixed text.")
    return problems


def _wa_button_errors(index: int, button: Mapping[str, object]) -> list[str]:
    kind, text = button.get("type"), str(button.get("text") or "")
    label = f"Button {index} ({text!r})" if text else f"Button {index}"
    problems = []
    if kind not in WHATSAPP_BUTTON_TYPES:
        problems.append(f"{label}: choose a type: quick_reply, url or phone.")
    if not text.strip():
        problems.append(f"{label}: write the button text.")
    elif len(text) > WA_BUTTON_TEXT_MAX:
        problems.append(f"{label}: shorten the text to {WA_BUTTON_TEXT_MAX} characters.")
    url, phone = str(button.get("url") or ""), str(button.get("phone") or "")
    if kind == "url" and not re.fullmatch(r"https://[^\s/?#]+\.[^\s/?#]+\S*", url):
        problems.append(f"{label}: enter a full https:// link, e.g. https://example.in/track.")
    if kind == "phone" and not _PHONE_RE.fullmatch(phone.replace(" ", "")):
        problems.append(f"{label}: enter the phone number with country code, e.g. +919876543210.")
    return problems


def _wa_buttons_errors(buttons: Sequence[Mapping[str, object]]) -> list[str]:
    problems: list[str] = []
    for index, button in enumerate(buttons, start=1):
        if not isinstance(button, Mapping):
            problems.append(f"Button {index}: expected type, text and url or phone.")
            continue
        problems.extend(_wa_button_errors(index, button))
    kinds = [b.get("type") for b in buttons if isinstance(b, Mapping)]
    if len(buttons) > WA_BUTTONS_MAX:
        problems.append(f"Use at most {WA_BUTTONS_MAX} buttons (there are {len(buttons)}).")
    if kinds.count("url") > WA_URL_BUTTONS_MAX:
        problems.append(f"Use at most {WA_URL_BUTTONS_MAX} URL buttons: remove one.")
    if kinds.count("phone") > WA_PHONE_BUTTONS_MAX:
        problems.append("Use at most one phone button: remove the others.")
    return problems


def _wa_sample_errors(component: str, text: str, samples: Sequence[str]) -> list[str]:
    numbers = sorted(int(n) for n in placeholder_names(text, style="numbered"))
    lacking = [n for n in numbers if n > len(samples) or not str(samples[n - 1]).strip()]
    return [f"Give a sample value for {{{{{n}}}}} in the {component}." for n in lacking]


def _wa_name_errors(name: str) -> list[str]:
    if not name:
        return ["Enter the template name used at the provider, e.g. order_update."]
    if not _PROVIDER_NAME_RE.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
        return [f"Use lower-case letters, digits and underscores only, e.g. {suggestion}."]
    if len(name) > WA_NAME_MAX:
        return [f"Shorten the name to {WA_NAME_MAX} characters."]
    return []


def whatsapp_template_errors(
    *,
    category: str,
    language: str,
    header_type: str | None,
    header_text: str | None,
    body: str,
    footer: str | None,
    buttons: Sequence[Mapping[str, object]] | None,
    sample_values: Mapping[str, Sequence[str]] | None,
    provider_name: str,
) -> dict[str, list[str]]:
    """Check a WhatsApp template against Meta's limits; returns field -> messages.

    ``sample_values`` holds one list per component, ``{"header": [...], "body": [...]}``, where
    item *n-1* is the sample for ``{{n}}`` (header and body are numbered separately, as at Meta).
    ``header_type`` None or "" means no header. Category is accepted in any case.
    """
    errors: dict[str, list[str]] = {}
    if (category or "").strip().upper() not in WHATSAPP_CATEGORIES:
        _add(errors, "category", "Choose a category: MARKETING, UTILITY or AUTHENTICATION.")
    if not _LANGUAGE_RE.fullmatch((language or "").strip()):
        _add(errors, "language", "Use a WhatsApp language code such as en, en_US or hi.")
    kind = (header_type or "none").strip().lower()
    _add(errors, "header_text", _wa_header_errors(kind, header_text or ""))
    _add(errors, "body", _wa_body_errors(body or ""))
    _add(errors, "footer", _wa_footer_errors(footer or ""))
    _add(errors, "buttons", _wa_buttons_errors(list(buttons or [])))
    samples = sample_values or {}
    if kind == "text":
        header_samples = samples.get("header", [])
        _add(
            errors, "sample_values", _wa_sample_errors("header", header_text or "", header_samples)
        )
    _add(errors, "sample_values", _wa_sample_errors("body", body or "", samples.get("body", [])))
    _add(errors, "provider_name", _wa_name_errors((provider_name or "").strip()))
    return errors


# --- voice -------------------------------------------------------------------------------------


def _voice_menu_errors(menu: Mapping[str, str]) -> list[str]:
    problems = []
    for key, outcome in menu.items():
        if key not in VOICE_KEYS:
            problems.append(f"Key {key!r} is not on a phone keypad: use 0-9, * or #.")
        if not _SLUG_RE.fullmatch(str(outcome or "")):
            problems.append(
                f"Outcome {outcome!r} for key {key!r}: use a short label of lower-case letters, "
                "digits, '-' or '_', e.g. pay_now."
            )
    return problems


def voice_template_errors(
    *,
    prompt: str,
    menu: Mapping[str, str] | None,
    retries: int,
    no_input_prompt: str | None,
    invalid_prompt: str | None,
) -> dict[str, list[str]]:
    """Check an IVR prompt and keypad menu; returns field -> messages.

    The menu maps a keypad key ("0"-"9", "*", "#") to an outcome label (slug-like); an empty menu
    is a plain announcement. Retries are 0-5. The no-input and invalid prompts are optional (the
    main prompt is replayed without them) but, like the prompt, must have well-formed ``{{name}}``
    placeholders.
    """
    errors: dict[str, list[str]] = {}
    if not (prompt or "").strip():
        _add(errors, "prompt", "Write what the caller hears.")
    else:
        _add(errors, "prompt", placeholder_errors(prompt, style="named", known=None))
    _add(errors, "menu", _voice_menu_errors(menu or {}))
    if isinstance(retries, bool) or not isinstance(retries, int):
        _add(errors, "retries", f"Retries is a whole number from 0 to {VOICE_RETRIES_MAX}.")
    elif not 0 <= retries <= VOICE_RETRIES_MAX:
        _add(errors, "retries", f"Choose between 0 and {VOICE_RETRIES_MAX} retries.")
    for field, text in (("no_input_prompt", no_input_prompt), ("invalid_prompt", invalid_prompt)):
        if text:
            _add(errors, field, placeholder_errors(text, style="named", known=None))
    return errors
