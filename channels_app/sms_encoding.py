"""SMS length, encoding and link checks (pure Python, no Django).

Two questions an operator asks while typing an SMS: "how many SMS will this cost?" and "will DLT
block it for an unlisted link?". ``sms_measure`` answers the first, ``unlisted_urls`` the second.

Encoding follows GSM 03.38: text made only of the GSM-7 default alphabet (plus its extension
table, whose characters take two septets) is sent as GSM-7; anything else makes the whole message
UCS-2, counted in UTF-16 code units (an emoji outside the BMP takes two). National language shift
tables (e.g. the Hindi one) are not assumed: Indian operators and providers do not reliably
support them, so Devanagari text is always counted as UCS-2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these is sent as ESC + char, so it takes two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
NON_GSM_HINT_LIMIT = 5


@dataclass(frozen=True)
class SmsMeasure:
    """The size of one SMS text.

    ``units`` are septets for GSM-7 and UTF-16 code units for UCS-2; ``characters`` counts Unicode
    code points. ``per_segment`` is the single-SMS limit while the text fits in one SMS and the
    per-part limit once it is split; ``remaining`` is what still fits in the current (last) part.
    """

    encoding: str
    units: int
    characters: int
    segments: int
    per_segment: int
    remaining: int
    non_gsm_chars: list[str] = field(default_factory=list)


def _is_gsm7(char: str) -> bool:
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def _unit_width(char: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def _pack_parts(widths: Iterable[int], per_part: int) -> tuple[int, int]:
    """Pack unit widths into parts of ``per_part`` without splitting a multi-unit character.

    Returns (number of parts, units used in the last part).
    """
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:
            parts, used = parts + 1, 0
        used += width
    return parts, used


def _non_gsm_chars(text: str) -> list[str]:
    offending: list[str] = []
    for char in text:
        if not _is_gsm7(char) and char not in offending:
            offending.append(char)
            if len(offending) == NON_GSM_HINT_LIMIT:
                break
    return offending


def sms_measure(text: str) -> SmsMeasure:
    """Measure ``text`` as an SMS: encoding, units, segments and room left in the last segment.

    Empty text is 0 segments with the whole single-SMS limit remaining. A text that fits the
    single limit (160 septets / 70 code units) is one segment; longer text is split into parts of
    153 / 67, and a two-unit character (GSM extension or a UTF-16 surrogate pair) that does not fit
    in the last unit of a part moves whole to the next part, as handsets and SMSCs do.
    """
    offending = _non_gsm_chars(text)
    encoding = "UCS-2" if offending else "GSM-7"
    single, per_part = (UCS2_SINGLE, UCS2_PART) if offending else (GSM7_SINGLE, GSM7_PART)
    widths = [_unit_width(char, encoding) for char in text]
    units = sum(widths)
    if units <= single:
        segments = 1 if units else 0
        return SmsMeasure(encoding, units, len(text), segments, single, single - units, offending)
    segments, used = _pack_parts(widths, per_part)
    return SmsMeasure(encoding, units, len(text), segments, per_part, per_part - used, offending)


# --- links -------------------------------------------------------------------------------------

# Scheme-less links are recognised when they start with www., carry a path/port, or end in one of
# these TLDs; this keeps "Rs.500", "Mr.Sharma" and "file.txt" from being read as links.
COMMON_TLDS = frozenset(
    "in co com net org info biz io ly gl me app link ai xyz site online store shop club live "
    "page dev tech to cc gov edu bank us uk".split()
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_URL_RE = re.compile(
    r"(?<![\w@.-])"
    r"(?:"
    r"(?P<scheme>https?://)[^\s<>\"']+"
    r"|"
    rf"(?P<host>(?:{_LABEL}\.)+(?P<tld>[a-z]{{2,24}}))(?P<rest>(?::\d{{1,5}})?(?:[/?#][^\s<>\"']*)?)"
    r")",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\"”’»"


def _trim_url(url: str) -> str:
    """Drop sentence punctuation stuck to the end of a link, keeping balanced parentheses."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last == ")" and url.count(")") > url.count("("):
            url = url[:-1]
        else:
            break
    return url


def _looks_like_link(match: re.Match[str]) -> bool:
    if match.group("scheme"):
        return True
    host, rest = match.group("host").lower(), match.group("rest")
    return host.startswith("www.") or bool(rest) or match.group("tld").lower() in COMMON_TLDS


def urls_in(text: str) -> list[str]:
    """Links in ``text``, in order, as written (trailing punctuation removed).

    Finds ``http(s)://`` links and scheme-less ones such as ``www.x.in/offer``, ``bit.ly/abc``
    and ``hdfcbank.com``; e-mail addresses are not links.
    """
    found: list[str] = []
    for match in _URL_RE.finditer(text):
        if not _looks_like_link(match):
            continue
        url = _trim_url(match.group(0))
        if url and (match.group("scheme") is None or len(url) > len(match.group("scheme"))):
            found.append(url)
    return found


def host_of(url: str) -> str:
    """The lower-case host of ``url`` (scheme optional), without port, credentials or final dot.

    Returns "" when there is no host.
    """
    candidate = url.strip()
    if "://" not in candidate:
        candidate = "//" + candidate
    try:
        host = urlsplit(candidate).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def _normalise_domain(domain: str) -> str:
    domain = domain.strip().lower()
    if "/" in domain or ":" in domain:
        domain = host_of(domain)
    return domain.lstrip("*").strip(".")


def unlisted_urls(text: str, whitelisted_domains: Iterable[str]) -> list[str]:
    """Links in ``text`` whose host is neither a whitelisted domain nor a subdomain of one.

    ``whitelisted_domains`` may be written as ``x.in``, ``*.x.in``, ``.x.in`` or a pasted URL.
    Each unlisted link is listed once, in order of appearance. Since 1 Oct 2024 DLT blocks an SMS
    carrying a link that is not whitelisted, so any result here means the SMS would be rejected.
    """
    domains = {d for d in (_normalise_domain(raw) for raw in whitelisted_domains) if d}
    unlisted: list[str] = []
    for url in urls_in(text):
        host = host_of(url)
        allowed = any(host == d or host.endswith("." + d) for d in domains)
        if not allowed and url not in unlisted:
            unlisted.append(url)
    return unlisted
