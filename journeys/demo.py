# ruff: noqa: E501  (message copy reads better in whole sentences)
"""The engine's demo data: the three templates the seeds need beyond the templates capability's
demo, the three seed journeys published in the demo workspace, an accelerated clock, and the
traffic generator switched on. Idempotent: existing templates and journeys are left alone.
"""

from __future__ import annotations

import random
from typing import Any

from console.models import Workspace
from journeys.engine.seeds import SEED_JOURNEYS

DEMO_CLOCK_SPEED = 600.0  # one real second is ten journey minutes: a 3-day wait takes ~7 minutes
HEADER, ENTITY_ID = "MUZZTK", "1201161234567890123"


def _sms(en: str, hi: str, ids: tuple[str, str]) -> dict[str, Any]:
    return {
        "fields": {"header": HEADER, "entity_id": ENTITY_ID},
        "variants": {
            "en": {"body": en, "dlt_template_id": ids[0]},
            "hi": {"body": hi, "dlt_template_id": ids[1]},
        },
    }


def _wa(body_en: str, body_hi: str, mapping: list[str], buttons: tuple[list, list]) -> dict:
    variables = {str(n): name for n, name in enumerate(mapping, start=1)}
    return {
        "fields": {
            "category": "UTILITY",
            "provider_name": "payment_reminder",
            "header_type": "none",
        },
        "variants": {
            "en": {
                "body": body_en,
                "body_variables": variables,
                "buttons": buttons[0],
                "footer": "Muzz Finance",
            },
            "hi": {
                "body": body_hi,
                "body_variables": variables,
                "buttons": buttons[1],
                "footer": "Muzz Finance",
            },
        },
    }


ENGINE_TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "dispatch_sms",
        "name": "Order dispatched (SMS)",
        "channel": "sms",
        "purpose": "service",
        **_sms(
            "Hi {{customer.first_name}}, your Muzz order #{{event.order_id}} is on its way with {{event.courier}}. Track: https://muzz.in/track - Muzz Retail",
            "नमस्ते {{customer.first_name}}, आपका Muzz ऑर्डर #{{event.order_id}} {{event.courier}} से भेज दिया गया है। ट्रैक करें: https://muzz.in/track - Muzz Retail",
            ("1207168234561000201", "1207168234561000202"),
        ),
    },
    {
        "key": "payment_reminder_whatsapp",
        "name": "EMI payment reminder (WhatsApp)",
        "channel": "whatsapp",
        "purpose": "service",
        **_wa(
            "Hi {{1}}, your EMI of {{2}} for loan {{3}} is due on {{4}}. Pay on time to keep your record clean.",
            "नमस्ते {{1}}, लोन {{3}} की आपकी {{2}} की EMI {{4}} को देय है। समय पर भुगतान करें।",
            [
                "customer.first_name",
                "context.emi_amount",
                "context.loan_id",
                "context.emi_due_date",
            ],
            (
                [
                    {"type": "url", "text": "Pay now", "url": "https://muzz.in/pay"},
                    {"type": "quick_reply", "text": "Speak to an Advisor"},
                ],
                [
                    {"type": "url", "text": "अभी भुगतान करें", "url": "https://muzz.in/pay"},
                    {"type": "quick_reply", "text": "सलाहकार से बात करें"},
                ],
            ),
        ),
    },
    {
        "key": "payment_reminder_sms",
        "name": "EMI payment reminder (SMS)",
        "channel": "sms",
        "purpose": "service",
        **_sms(
            "Dear {{customer.first_name}}, EMI {{context.emi_amount}} for loan {{context.loan_id}} is due on {{context.emi_due_date}}. Pay: https://muzz.in/pay - Muzz Finance",
            "प्रिय {{customer.first_name}}, लोन {{context.loan_id}} की EMI {{context.emi_amount}} {{context.emi_due_date}} को देय है। भुगतान: https://muzz.in/pay - Muzz Finance",
            ("1207168234561000701", "1207168234561000702"),
        ),
    },
]


def engine_templates_seed(workspace: Workspace) -> None:
    """Create the seed journeys' extra templates (approved) that the workspace lacks."""
    from channels_app.tmpl.selectors import template_get_by_key
    from channels_app.tmpl.services import (
        template_create,
        template_status_set,
        template_version_create,
    )

    for spec in ENGINE_TEMPLATES:
        if template_get_by_key(workspace=workspace, key=spec["key"]) is not None:
            continue
        template = template_create(
            workspace=workspace, key=spec["key"], name=spec["name"], channel=spec["channel"],
            purpose=spec["purpose"],
        )  # fmt: skip
        version = template_version_create(
            template=template, fields=spec["fields"], variants=spec["variants"]
        )
        if version.status != "approved":
            template_status_set(
                version=version, status="approved", reason="Approved by Meta (demo data)"
            )


def seed_journeys_publish(workspace: Workspace, *, actor=None) -> list:
    """Create and publish each seed journey the workspace does not have yet (by gallery slug)."""
    from journeys.models import Journey
    from journeys.services import journey_create, journey_publish

    published = []
    for slug, (name, build) in SEED_JOURNEYS.items():
        if Journey.objects.filter(workspace=workspace, gallery_slug=slug).exists():
            continue
        journey = journey_create(
            workspace=workspace, name=name, graph=build(), actor=actor, gallery_slug=slug,
            description=(build.__doc__ or "").strip(),
        )  # fmt: skip
        published.append(journey_publish(journey=journey, actor=actor, note="Seed journey"))
    return published


def demo_journeys_seed(workspace: Workspace, rng: random.Random | None = None) -> None:
    """The demo seeder: templates, published seed journeys, accelerated clock, traffic on."""
    from journeys.clock import clock_speed_set
    from journeys.models import EngineSettings

    engine_templates_seed(workspace)
    seed_journeys_publish(workspace)
    row, created = EngineSettings.objects.get_or_create(workspace=workspace)
    if created:
        clock_speed_set(workspace=workspace, factor=DEMO_CLOCK_SPEED)
        EngineSettings.objects.filter(pk=row.pk).update(traffic_enabled=True)
