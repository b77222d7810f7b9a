"""Test runs for the builder: the outcome pickers of a draft and one simulated run rendered with
the template preview (nothing is stored, nothing is sent)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from console.models import Customer, Event
from journeys.builder import selectors
from journeys.builder.testrun import choices_for, test_run
from journeys.clock import clock_now
from journeys.engine import CustomerView
from journeys.models import Journey
from journeys.services.stepping import customer_views

TEST_CUSTOMER = CustomerView(
    customer_id="test",
    language="en",
    attributes={"city": "Pune", "emi_due_date": "2026-01-05"},
    consent={
        f"{c}.{p}": "granted"
        for c in ("sms", "whatsapp", "voice")
        for p in ("transactional", "service", "promotional")
    },
    reachable={"sms": True, "whatsapp": True, "voice": True},
)


def test_run_form_context(journey: Journey) -> dict[str, Any]:
    version = selectors.graph_parse(journey.draft or {})
    customers = Customer.objects.filter(workspace=journey.workspace).order_by("name")[:30]
    return {
        "journey": journey,
        "run_choices": choices_for(version) if version else [],
        "run_customers": list(customers),
        "run_properties": json.dumps(_sample_properties(journey, version), indent=1),
        "run_unparsable": version is None,
    }


def _sample_properties(journey: Journey, version) -> dict[str, Any]:
    event = selectors.trigger_event_name(version)
    if event:
        found = (
            Event.objects.filter(workspace=journey.workspace, name=event)
            .order_by("-occurred_at")
            .values_list("properties", flat=True)
            .first()
        )
        if found:
            return found
    key = version.entry.correlation_key if version else None
    return {key: "TEST-1"} if key else {}


def test_run_context(journey: Journey, data: Mapping[str, str], customer: Customer | None) -> dict:
    version = selectors.graph_parse(journey.draft or {})
    if version is None or version.entry_node() is None:
        return {"run_error": "The draft needs exactly one trigger before it can run; see Problems."}
    try:
        properties = json.loads(data.get("properties") or "{}")
        assert isinstance(properties, dict)
    except (ValueError, AssertionError):
        return {"run_error": 'Trigger properties: write a JSON object, e.g. {"order_id": "58821"}'}
    now = clock_now(journey.workspace)
    view = customer_views([customer], now)[customer.pk] if customer else TEST_CUSTOMER
    choices = {c.node_id: data.get(f"outcome.{c.node_id}", c.default) for c in choices_for(version)}
    try:
        result = test_run(
            version, choices=choices, customer=view, start=now, trigger_properties=properties
        )
    except (ValueError, KeyError) as exc:
        return {"run_error": f"The run stopped: {exc}"}
    for message in result.messages:
        message["preview"] = _preview(journey, message, customer)
    path = {
        "steps": result.steps,
        "status": result.status,
        "end_reason": result.end_reason,
        "messages": [{k: v for k, v in m.items() if k != "preview"} for m in result.messages],
    }
    return {"run": result, "run_path": path, "run_choices_made": choices}


def _preview(journey: Journey, message: dict, customer: Customer | None) -> dict | None:
    rendered = selectors.template_preview_for(
        workspace=journey.workspace,
        key=message["template"],
        customer=customer,
        context=message["variables"],
    )
    if rendered is None:
        return None
    return {
        "text": rendered.text,
        "header": rendered.header,
        "footer": rendered.footer,
        "buttons": [b.get("text") or b.get("title") or "" for b in rendered.buttons],
        "menu": rendered.menu,
    }
