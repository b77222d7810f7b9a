"""Phone numbers: everything stored is E.164; Indian numbers may be written without +91."""

import phonenumbers

DEFAULT_REGION = "IN"


class PhoneError(ValueError):
    pass


def phone_normalize(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return `raw` as E.164 (`+919812345678`) or raise PhoneError with a fix the user can act on."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("Enter a phone number, e.g. +919812345678.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(
            f"'{text}' is not a phone number. Use E.164 (+919812345678) or a 10-digit Indian mobile."
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(
            f"'{text}' is not a valid number for its country. Check the digits; Indian mobiles "
            "have 10 digits after +91 and start with 6-9."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_search_key(raw: str) -> str | None:
    """E.164 for a search box entry that looks like a phone number, else None."""
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if len(digits.lstrip("+")) < 6:
        return None
    try:
        return phone_normalize(digits)
    except PhoneError:
        return None
