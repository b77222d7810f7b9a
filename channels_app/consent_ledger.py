"""Current consent derived from an append-only ledger, and inbound opt-out keywords (pure Python).

The ledger is a list of ``ConsentEntry`` rows, never edited: each grant or withdrawal is a new row
with its source and time, which is what DPDP asks a business to be able to show. ``consent_current``
folds the rows into the state per (channel, purpose).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

CHANNELS = ("sms", "whatsapp", "voice")
PURPOSES = ("transactional", "service", "promotional")
SOURCES = ("form", "keyword", "ivr", "support", "import", "api")
ENTRY_STATUSES = ("granted", "withdrawn")
STATES = ("granted", "withdrawn", "none", "expired")


@dataclass(frozen=True)
class ConsentEntry:
    """One grant or withdrawal for a (channel, purpose), recorded at aware time ``at``.

    ``expires_at`` limits a grant; it has no meaning on a withdrawal, which lasts until a new grant.
    """

    channel: str
    purpose: str
    status: str
    source: str
    at: datetime
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("channel", self.channel, CHANNELS),
            ("purpose", self.purpose, PURPOSES),
            ("status", self.status, ENTRY_STATUSES),
            ("source", self.source, SOURCES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        for name, moment in (("at", self.at), ("expires_at", self.expires_at)):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be an aware datetime")


@dataclass(frozen=True)
class ConsentState:
    """The consent in force for one (channel, purpose).

    ``status`` is granted, withdrawn, none (never recorded) or expired (a grant past its
    ``expires_at``); ``entry`` is the ledger row that decided it, None for "none".
    """

    status: str
    entry: ConsentEntry | None = None

    @property
    def granted(self) -> bool:
        """True only for a current, unexpired grant."""
        return self.status == "granted"


def consent_current(
    entries: Iterable[ConsentEntry], *, now: datetime
) -> dict[tuple[str, str], ConsentState]:
    """The state for every (channel, purpose) pair at ``now``.

    The latest entry by ``at`` wins; entries with the same ``at`` are settled by the order given
    (the later one wins). Entries dated after ``now`` are not yet in force and are ignored. A grant
    whose ``expires_at`` is at or before ``now`` gives "expired". Pairs with no entry are "none",
    so every pair in CHANNELS x PURPOSES is present.
    """
    latest: dict[tuple[str, str], ConsentEntry] = {}
    for entry in entries:
        if entry.at > now:
            continue
        key = (entry.channel, entry.purpose)
        current = latest.get(key)
        if current is None or entry.at >= current.at:
            latest[key] = entry
    states = {(c, p): ConsentState("none") for c in CHANNELS for p in PURPOSES}
    for key, entry in latest.items():
        expires_at = entry.expires_at if entry.status == "granted" else None
        expired = expires_at is not None and expires_at <= now
        states[key] = ConsentState("expired" if expired else entry.status, entry)
    return states


# --- inbound keywords --------------------------------------------------------------------------


def _keywords(*words: str) -> frozenset[str]:
    return frozenset(unicodedata.normalize("NFC", word).casefold() for word in words)


# Hindi: "बंद"/"बन्द" (off), "रोकें"/"रोको"/"रुको" (stop); Hinglish BAND, ROKO; "शुरू" (start).
WITHDRAW_KEYWORDS = _keywords(
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BAND", "ROKO",
    "बंद", "बन्द", "रोकें", "रोको", "रुको",
)  # fmt: skip
GRANT_KEYWORDS = _keywords("START", "UNSTOP", "SUBSCRIBE", "शुरू")


def _strip_edges(text: str) -> str:
    """Trim whitespace, punctuation, symbols and controls (not combining marks) from both ends."""

    def is_edge(char: str) -> bool:
        return unicodedata.category(char)[0] in "PZSC"

    start, end = 0, len(text)
    while start < end and is_edge(text[start]):
        start += 1
    while end > start and is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def keyword_action(text: str, language: str | None = None) -> str | None:
    """ "withdraw", "grant" or None for an inbound message that is only an opt-out/opt-in keyword.

    Case-insensitive; whitespace and punctuation around the word are ignored ("Stop!" counts,
    "please stop" does not). English, Hindi and Hinglish keywords are all honoured whatever the
    ``language`` of the conversation, because withdrawing must be as easy as giving; the argument
    is accepted so callers can pass it, and is not needed to recognise any keyword today.
    """
    del language
    word = _strip_edges(unicodedata.normalize("NFC", text or "")).casefold()
    if word in WITHDRAW_KEYWORDS:
        return "withdraw"
    if word in GRANT_KEYWORDS:
        return "grant"
    return None
