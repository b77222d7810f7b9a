"""Compliance lint on top of the engine's checks: what is legal to draw but likely wrong in India.

Pure (graph and template facts in, problems out). The engine already refuses promotional sends
that ignore quiet hours, voice without calling hours and template/purpose mismatches; these add
what it cannot know from one node alone: times chosen upstream, journey-wide echo and the RBI
window for collection calls, and sends whose consent purpose was never chosen.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ValidationError

from journeys.engine import JourneyVersion, Problem, TemplateInfo
from journeys.engine.nodes.common import channel_name

SENDING_KINDS = ("send", "voice_call", "escalation")
PROMO_HOURS = ("09:00", "21:00")  # TRAI: promotional SMS and calls only 09:00-21:00 IST
RBI_HOURS = ("08:00", "19:00")  # RBI: collection calls only 08:00-19:00


def _config(version: JourneyVersion, node_id: str) -> BaseModel | None:
    try:
        return version.config(node_id)
    except (ValidationError, KeyError):
        return None


def _channels(kind: str, config: BaseModel) -> list[str]:
    if kind == "voice_call":
        return ["voice"]
    if kind == "escalation":
        return [rung.channel for rung in config.rungs]
    if config.channel == "best":
        return list(config.templates)
    return [config.channel]


def _problem(node, code: str, message: str, field: str | None = None, warn=True) -> Problem:
    name = f"“{node.label}” ({node.id})" if node.label else node.id
    return Problem(node.id, field, code, f"{name}: {message}", "warning" if warn else "error")


def journey_lint(
    version: JourneyVersion, *, templates: Mapping[str, TemplateInfo] | None = None
) -> list[Problem]:
    """Compliance problems of a parsed version (warnings unless the law is plainly broken)."""
    problems: list[Problem] = []
    incoming: dict[str, list[tuple[str, str]]] = {}
    for edge in version.edges:
        incoming.setdefault(edge.to, []).append((edge.source, edge.port))
    for node in version.nodes:
        if node.kind not in SENDING_KINDS:
            continue
        config = _config(version, node.id)
        if config is None:
            continue
        channels = _channels(node.kind, config)
        problems += _purpose_chosen(node)
        problems += _promo_hours(version, node, config, channels, incoming)
        problems += _collection_hours(node, config, channels)
        problems += _echo(version, node, channels, incoming)
    return problems


def _purpose_chosen(node) -> list[Problem]:
    if "purpose" in node.config:
        return []
    return [
        _problem(
            node,
            "purpose_not_chosen",
            "no consent purpose chosen (it defaults to "
            "service); pick transactional, service or promotional",
            "purpose",
        )
    ]


def _outside(at: str, window: tuple[str, str]) -> bool:
    return not (window[0] <= at < window[1])


def _promo_hours(version, node, config, channels, incoming) -> list[Problem]:
    if config.purpose != "promotional" or not ({"sms", "voice"} & set(channels)):
        return []
    found = []
    for source, _port in incoming.get(node.id, []):
        before = version.node(source)
        wait = _config(version, source) if before is not None and before.kind == "wait" else None
        at = getattr(wait, "at", None) if wait is not None and wait.mode != "duration" else None
        if at and _outside(at, PROMO_HOURS):
            found.append(
                _problem(
                    node,
                    "promotional_outside_hours",
                    f"promotional {channel_name(channels[0])} scheduled at {at}, outside "
                    f"{'-'.join(PROMO_HOURS)}: it will be held until 09:00; wait until a time "
                    "inside the window",
                    "purpose",
                )
            )
    window = getattr(config, "calling_window", None)
    if window and (_outside(window.start, PROMO_HOURS) or window.end > PROMO_HOURS[1]):
        found.append(
            _problem(
                node,
                "promotional_outside_hours",
                f"promotional calling hours {window.text()} go beyond 09:00-21:00; narrow them",
                "calling_window",
                warn=False,
            )
        )
    return found


def _collection_hours(node, config, channels) -> list[Problem]:
    window = getattr(config, "calling_window", None)
    if "voice" not in channels or not config.collection or window is None:
        return []
    if window.start < RBI_HOURS[0] or window.end > RBI_HOURS[1]:
        return [
            _problem(
                node,
                "collection_outside_rbi_hours",
                f"collection calls only 08:00-19:00 (RBI); calling hours {window.text()} go "
                "beyond; narrow them",
                "calling_window",
                warn=False,
            )
        ]
    return []


def _echo(version, node, channels, incoming) -> list[Problem]:
    """A send straight after another channel's send (on its ``sent`` port) with no wait in
    between reaches the customer twice at once: the echo the dispatcher would block anyway."""
    found = []
    for source, port in incoming.get(node.id, []):
        before = version.node(source)
        if before is None or before.kind not in SENDING_KINDS or port not in ("sent", "resolved"):
            continue
        config = _config(version, source)
        if config is None:
            continue
        earlier = _channels(before.kind, config)
        if set(earlier) != set(channels) or before.kind != node.kind:
            found.append(
                _problem(
                    node,
                    "echo_without_wait",
                    f"{'/'.join(map(channel_name, channels))} right after "
                    f"{'/'.join(map(channel_name, earlier))} was sent, with no wait: the customer "
                    "hears the same thing twice; put a wait-for (read, 24h) in between",
                    "edges",
                )
            )
    return found
