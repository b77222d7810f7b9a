"""The journey format, the condition language and the palette the builder renders. No database."""

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from journeys.engine import (
    condition_describe,
    condition_eval,
    journey_export,
    journey_export_text,
    journey_parse,
    node_palette,
)
from journeys.engine.conditions import Leaf, Scope
from journeys.engine.seeds import payment_reminder_journey

ROOT = Path(__file__).resolve().parents[2]
IST = ZoneInfo("Asia/Kolkata")


def test_export_then_import_gives_equal_json_and_file_text():
    version = journey_parse(payment_reminder_journey())
    text = journey_export_text(version)
    assert journey_export_text(journey_parse(text)) == text
    assert json.loads(text)["edges"][0] == {"from": "trigger", "port": "out", "to": "whatsapp"}


def test_times_of_day_stay_as_written():
    exported = journey_export(journey_parse(payment_reminder_journey()))
    voice = next(n for n in exported["nodes"] if n["id"] == "voice")
    assert voice["config"]["calling_window"] == {"start": "08:00", "end": "19:00"}


def test_unknown_top_level_fields_and_formats_are_refused():
    with pytest.raises(ValidationError, match="surprise"):
        journey_parse({"nodes": [], "edges": [], "surprise": 1})
    with pytest.raises(ValidationError, match="format"):
        journey_parse({"format": 2})


def test_the_documented_example_is_the_payment_reminder_seed():
    doc = (ROOT / "docs" / "journey-format.md").read_text()
    example = doc[doc.index("## Example") :]
    block = re.search(r"```json\n(.*?)```", example, re.S).group(1)
    assert journey_export(journey_parse(block)) == journey_export(
        journey_parse(payment_reminder_journey())
    )


SCOPE = Scope(
    context={"amount": "4500", "order": {"id": "O-1"}, "due": "2026-03-20"},
    attributes={"city": "Pune", "tier": "gold"},
    consent={"sms.promotional": "granted"},
    reachable={"whatsapp": True},
    outcomes={"wa": ["sent", "delivered"]},
    ports={"wa": "sent"},
    seen={"inbound.call": datetime(2026, 3, 1, tzinfo=IST)},
    now=datetime(2026, 3, 19, 23, 0, tzinfo=IST),
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"path": "context.amount", "op": "gt", "value": 4000}, True),
        ({"path": "context.order.id", "op": "eq", "value": "O-1"}, True),
        ({"path": "attributes.tier", "op": "in", "value": ["gold", "silver"]}, True),
        ({"path": "consent.whatsapp.promotional", "op": "eq", "value": "granted"}, False),
        ({"path": "reachable.whatsapp", "op": "is_true"}, True),
        ({"path": "outcomes.wa", "op": "contains", "value": "read"}, False),
        ({"path": "ports.wa", "op": "eq", "value": "sent"}, True),
        ({"path": "seen.inbound.call", "op": "exists"}, True),
        ({"path": "context.missing", "op": "ne", "value": 1}, True),
        ({"path": "context.missing", "op": "gt", "value": 1}, False),
        ({"path": "now", "op": "lte", "value_path": "context.due"}, True),
        ({"path": "context.amount", "op": "gt", "value": "abc"}, False),
        ({"any": [{"path": "attributes.city", "op": "eq", "value": "Delhi"},
                  {"not": {"path": "holdout", "op": "is_true"}}]}, True),
    ],
)  # fmt: skip
def test_conditions_evaluate_without_eval(condition, expected):
    parsed = journey_parse({"goal": {"event": "x", "when": condition}}).goal.when
    assert condition_eval(parsed, SCOPE) is expected


def test_condition_paths_must_start_with_a_known_root():
    with pytest.raises(ValidationError, match="path must start with one of"):
        Leaf(path="__import__('os')", op="eq", value=1)


def test_conditions_read_as_a_sentence_on_the_canvas():
    leaf = Leaf(path="reachable.whatsapp", op="is_true")
    assert condition_describe(leaf) == "reachable.whatsapp is true"


def test_the_palette_groups_every_kind_with_schema_ports_and_icon():
    palette = node_palette()
    assert [group["group"] for group in palette] == [
        "triggers", "messages", "waits", "logic", "voice", "actions", "ends",
    ]  # fmt: skip
    kinds = {kind["kind"]: kind for group in palette for kind in group["kinds"]}
    assert set(kinds) >= {
        "trigger.event", "trigger.segment", "trigger.date", "trigger.inbound", "send", "wait",
        "wait_for", "branch", "split", "voice_call", "update", "webhook", "escalation", "goal",
        "exit",
    }  # fmt: skip
    send = kinds["send"]
    assert send["schema"]["properties"]["channel"]["title"] == "Channel"
    assert [port["name"] for port in send["ports"]] == ["sent", "skipped", "failed"]
    assert [p["name"] for p in kinds["escalation"]["ports"]] == ["resolved", "exhausted"]
    assert all(kind["icon"] and kind["label"] for kind in kinds.values())
    assert kinds["update"]["instantaneous"] and not kinds["send"]["instantaneous"]
