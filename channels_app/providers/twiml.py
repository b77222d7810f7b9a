"""TwiML builders for Twilio Voice (pure; built with ElementTree so text and URLs are escaped).

The IVR layer renders a voice template to a prompt and a menu; these functions turn that into the
XML Twilio executes. The keys pressed come back as ``Digits`` on the ``action`` URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from xml.etree import ElementTree as ET

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def _document(children: Iterable[ET.Element]) -> str:
    root = ET.Element("Response")
    root.extend(children)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode")


def _say(text: str, language: str, voice: str = "") -> ET.Element:
    element = ET.Element("Say", {"language": language, **({"voice": voice} if voice else {})})
    element.text = text
    return element


def twiml_say(text: str, *, language: str = "en-IN", voice: str = "", hangup: bool = True) -> str:
    """Speak ``text`` (and hang up)."""
    parts = [_say(text, language, voice)]
    if hangup:
        parts.append(ET.Element("Hangup"))
    return _document(parts)


def twiml_gather(
    prompt: str,
    *,
    action_url: str,
    menu: Mapping[str, str] | None = None,
    language: str = "en-IN",
    voice: str = "",
    timeout_s: int = 5,
    no_input_prompt: str = "",
) -> str:
    """Speak ``prompt`` inside a DTMF ``<Gather>`` that posts the pressed key to ``action_url``.

    ``numDigits`` is the longest key in the menu (1 for a keypad menu). ``actionOnEmptyResult``
    makes Twilio call the action even when nothing was pressed (empty ``Digits``), so the IVR
    learns "no input" from the same endpoint instead of the call silently ending.
    """
    num_digits = max((len(key) for key in (menu or {})), default=1)
    gather = ET.Element(
        "Gather",
        {
            "input": "dtmf",
            "numDigits": str(num_digits),
            "timeout": str(timeout_s),
            "action": action_url,
            "method": "POST",
            "actionOnEmptyResult": "true",
        },
    )
    gather.append(_say(prompt, language, voice))
    parts = [gather]
    if no_input_prompt:
        parts.append(_say(no_input_prompt, language, voice))
    return _document(parts)


def twiml_redirect(url: str) -> str:
    element = ET.Element("Redirect", {"method": "POST"})
    element.text = url
    return _document([element])
