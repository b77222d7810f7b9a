# ruff: noqa: E501  (prompts read better in whole sentences)
"""Demo data of the IVR: the payment-link SMS that "press 1" sends, the keypad menus (English and
Hindi) of the EMI reminder call, of inbound calls (default, order and EMI callers) and the
simulator's rates and delays. Idempotent: existing rows (operators' edits) are left alone.

The link's domain (muzz.in) is whitelisted by the templates capability's demo DLT settings, which
this seeder makes sure of first (that seeder is idempotent too).
"""

from __future__ import annotations

import random
from typing import Any

from channels_app.ivr.menus import ivr_menu_save
from channels_app.models.calls import IvrMenu
from channels_app.tmpl.selectors import template_get_by_key
from channels_app.tmpl.services import template_create, template_status_set, template_version_create
from console.models import Workspace

HEADER, ENTITY_ID = "MUZZTK", "1201161234567890123"
PAYMENT_LINK = {
    "key": "payment_link_sms",
    "name": "EMI payment link (SMS)",
    "channel": "sms",
    "purpose": "transactional",
    "fields": {"header": HEADER, "entity_id": ENTITY_ID},
    "variants": {
        "en": {
            "body": "Dear {{customer.first_name}}, pay your EMI of {{context.emi_amount}} for loan {{context.loan_id}} securely at https://muzz.in/pay - Muzz Finance",
            "dlt_template_id": "1207168234561000801",
        },
        "hi": {
            "body": "प्रिय {{customer.first_name}}, लोन {{context.loan_id}} की {{context.emi_amount}} की EMI यहाँ सुरक्षित रूप से भरें: https://muzz.in/pay - Muzz Finance",
            "dlt_template_id": "1207168234561000802",
        },
    },
}

PAY = {"action": "send", "channel": "sms", "template_key": "payment_link_sms", "label": "pay now"}
AGENT = {"action": "agent", "label": "talk to us"}
SAY = {
    "en": {
        "pay": "Thank you. We are sending you a payment link by SMS now.",
        "agent": "Thank you. Someone from Muzz will call you back shortly.",
        "instructions": "Thank you. The delivery partner will call you before arriving to take your instructions.",
    },
    "hi": {
        "pay": "धन्यवाद। हम आपको अभी SMS से भुगतान का लिंक भेज रहे हैं।",
        "agent": "धन्यवाद। Muzz से कोई आपको जल्द ही वापस कॉल करेगा।",
        "instructions": "धन्यवाद। डिलीवरी पार्टनर पहुँचने से पहले आपको कॉल करके निर्देश ले लेंगे।",
    },
}
GREETINGS = {
    "emi_reminder_voice": {
        "en": "Press 1 to pay now or press 2 to speak to us.",
        "hi": "अभी भुगतान करने के लिए 1 दबाएँ, हमसे बात करने के लिए 2 दबाएँ।",
    },
    "inbound": {
        "en": "Welcome to Muzz. Press 1 to hear your latest update, or press 2 to talk to us.",
        "hi": "Muzz में आपका स्वागत है। अपना ताज़ा अपडेट सुनने के लिए 1 दबाएँ, हमसे बात करने के लिए 2 दबाएँ।",
    },
    "order_inbound": {
        "en": "Press 1 to add delivery instructions, or press 2 to talk to us.",
        "hi": "डिलीवरी के निर्देश देने के लिए 1 दबाएँ, हमसे बात करने के लिए 2 दबाएँ।",
    },
    "emi_inbound": {
        "en": "Press 1 to get a payment link by SMS, or press 2 to talk to us.",
        "hi": "SMS से भुगतान का लिंक पाने के लिए 1 दबाएँ, हमसे बात करने के लिए 2 दबाएँ।",
    },
}
# Rates and delays that make the phone view busy but let an operator step in on a call.
SIMULATOR = {
    "seed": 20261204,
    "sms_delivered": 0.95,
    "whatsapp_reachable": 0.9,
    "whatsapp_read": 0.7,
    "whatsapp_button": 0.35,
    "whatsapp_replied": 0.15,
    "call_answered": 0.65,
    "call_busy": 0.2,
    "call_keypress": 0.7,
    "sent_s": 1.0,
    "sms_delivery_s": 4.0,
    "whatsapp_delivery_s": 3.0,
    "whatsapp_read_s": 30.0,
    "whatsapp_reply_s": 120.0,
    "call_ring_s": 10.0,
    "call_keypress_s": 20.0,
    "call_talk_s": 40.0,
}


def _actions(key: str, language: str) -> dict[str, Any]:
    say = SAY[language]
    agent = {**AGENT, "say": say["agent"]}
    if key == "inbound":
        return {"1": {"action": "repeat", "label": "latest update"}, "2": agent}
    if key == "order_inbound":
        instructions = {
            "action": "agent",
            "label": "delivery instructions",
            "say": say["instructions"],
        }
        return {"1": instructions, "2": agent}
    return {"1": {**PAY, "say": say["pay"]}, "2": agent}


def payment_link_template_seed(workspace: Workspace) -> None:
    if template_get_by_key(workspace=workspace, key=PAYMENT_LINK["key"]) is not None:
        return
    spec = PAYMENT_LINK
    template = template_create(
        workspace=workspace, key=spec["key"], name=spec["name"], channel=spec["channel"],
        purpose=spec["purpose"],
    )  # fmt: skip
    version = template_version_create(
        template=template, fields=spec["fields"], variants=spec["variants"]
    )
    if version.status != "approved":
        template_status_set(version=version, status="approved", reason="DLT approved (demo data)")


def ivr_menus_seed(workspace: Workspace) -> None:
    existing = set(IvrMenu.objects.filter(workspace=workspace).values_list("key", "language"))
    for key, greetings in GREETINGS.items():
        for language, greeting in greetings.items():
            if (key, language) not in existing:
                ivr_menu_save(workspace=workspace, key=key, language=language,
                              greeting=greeting, actions=_actions(key, language))  # fmt: skip


def simulator_demo_seed(workspace: Workspace) -> None:
    from channels_app.providers_console.services import simulator_settings, simulator_settings_save

    if not simulator_settings(workspace=workspace).config:
        simulator_settings_save(workspace=workspace, config=dict(SIMULATOR))


def demo_ivr_seed(workspace: Workspace, rng: random.Random | None = None) -> None:
    """The demo seeder (see the module docstring)."""
    from channels_app.tmpl.demo import demo_templates_seed

    demo_templates_seed(workspace)
    payment_link_template_seed(workspace)
    ivr_menus_seed(workspace)
    simulator_demo_seed(workspace)
