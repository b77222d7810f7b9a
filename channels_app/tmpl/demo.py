# ruff: noqa: E501  (message copy reads better in whole sentences than split at 100 columns)
"""Demo templates for the seed journeys (retail orders, loans, EMI), in English and Hindi.

Idempotent: a template whose key exists is left alone, so operators' edits survive a re-seed.
"""

from __future__ import annotations

import random
from typing import Any

from channels_app.models import DltSettings, TemplateVariable
from channels_app.tmpl.selectors import template_get_by_key
from channels_app.tmpl.services import (
    dlt_settings_set,
    template_create,
    template_status_set,
    template_variable_create,
    template_version_create,
)
from console.models import Workspace

ENTITY_ID = "1201161234567890123"
HEADER = "MUZZTK"
PROMO_HEADER = "567890"
WHITELIST = ["muzz.in"]

WORKSPACE_VARIABLES = [
    ("customer.attributes.city", "text", "Pune", "City from the customer profile"),
    ("customer.attributes.loan_id", "text", "LN482913", "Loan on the customer profile"),
    ("customer.attributes.emi_amount", "money", "8450", "EMI on the customer profile"),
    ("customer.attributes.emi_due_date", "date", "2026-12-10", "Next EMI date on the profile"),
]


def _sms(body_en: str, body_hi: str, ids: tuple[str, str], header: str = HEADER) -> dict[str, Any]:
    return {
        "fields": {"header": header, "entity_id": ENTITY_ID},
        "variants": {
            "en": {"body": body_en, "dlt_template_id": ids[0]},
            "hi": {"body": body_hi, "dlt_template_id": ids[1]},
        },
    }


def _wa_variant(
    body: str, mapping: list[str], buttons: list[dict], footer: str, **header: str
) -> dict:
    variables = {str(n): name for n, name in enumerate(mapping, start=1)}
    return {
        "body": body,
        "body_variables": variables,
        "buttons": buttons,
        "footer": footer,
        **header,
    }


def _url(text: str, url: str) -> dict[str, str]:
    return {"type": "url", "text": text, "url": url}


def _reply(text: str) -> dict[str, str]:
    return {"type": "quick_reply", "text": text}


DISPATCH_MAP = ["customer.first_name", "event.order_id", "event.courier", "event.delivery_date"]
LOAN_MAP = ["customer.first_name", "event.loan_id"]
RECEIPT_MAP = ["customer.first_name", "event.amount", "event.payment_id"]

DEMO_TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "order_confirmation_sms",
        "name": "Order confirmation",
        "channel": "sms",
        "purpose": "transactional",
        **_sms(
            "Hi {{customer.first_name}}, your Muzz order #{{event.order_id}} for {{event.amount}} is "
            "confirmed. Track it at https://muzz.in/track - Muzz Retail",
            "नमस्ते {{customer.first_name}}, आपका Muzz ऑर्डर #{{event.order_id}} ({{event.amount}}) "
            "कन्फ़र्म हो गया है। ट्रैक करें: https://muzz.in/track - Muzz Retail",
            ("1207168234561000101", "1207168234561000102"),
        ),
    },
    {
        "key": "dispatch_whatsapp",
        "name": "Order dispatched",
        "channel": "whatsapp",
        "purpose": "service",
        "fields": {
            "category": "UTILITY",
            "provider_name": "order_dispatched",
            "header_type": "text",
        },
        "variants": {
            "en": _wa_variant(
                "Hi {{1}}, good news! Your order #{{2}} has been dispatched with {{3}} and should reach "
                "you by {{4}}.",
                DISPATCH_MAP,
                [_url("Track order", "https://muzz.in/track"), _reply("Need help?")],
                "Muzz Retail",
                header_text="Order #{{1}} is on its way",
                header_variable="event.order_id",
            ),
            "hi": _wa_variant(
                "नमस्ते {{1}}, आपका ऑर्डर #{{2}} {{3}} से भेज दिया गया है और {{4}} तक पहुँच जाएगा।",
                DISPATCH_MAP,
                [_url("ऑर्डर ट्रैक करें", "https://muzz.in/track"), _reply("मदद चाहिए?")],
                "Muzz Retail",
                header_text="ऑर्डर #{{1}} रास्ते में है",
                header_variable="event.order_id",
            ),
        },
    },
    {
        "key": "out_for_delivery_ivr",
        "name": "Out for delivery call",
        "channel": "voice",
        "purpose": "service",
        "fields": {
            "menu": {"1": "confirm_available", "2": "reschedule", "9": "talk_to_us"},
            "retries": 2,
        },
        "variants": {
            "en": {
                "prompt": "Hello {{customer.first_name}}, this is Muzz Retail. Your order number "
                "{{event.order_id}} is out for delivery today. Press 1 if you will be available, press 2 "
                "to reschedule, or press 9 to speak to us.",
                "no_input_prompt": "Sorry, we did not hear a key. Press 1, 2 or 9.",
                "invalid_prompt": "That key is not in the menu. Press 1, 2 or 9.",
            },
            "hi": {
                "prompt": "नमस्ते {{customer.first_name}}, मैं Muzz Retail से बोल रही हूँ। आपका ऑर्डर नंबर "
                "{{event.order_id}} आज डिलीवरी के लिए निकल चुका है। उपलब्ध रहेंगे तो 1 दबाएँ, दूसरे दिन "
                "के लिए 2 दबाएँ, हमसे बात करने के लिए 9 दबाएँ।",
                "no_input_prompt": "माफ़ कीजिए, हमें कोई बटन सुनाई नहीं दिया। 1, 2 या 9 दबाएँ।",
                "invalid_prompt": "यह बटन मेनू में नहीं है। 1, 2 या 9 दबाएँ।",
            },
        },
    },
    {
        "key": "return10_promo_sms",
        "name": "RETURN10 comeback offer",
        "channel": "sms",
        "purpose": "promotional",
        **_sms(
            "{{customer.first_name}}, we miss you! Get 10% off your next Muzz order with code "
            "{{context.coupon_code}}. Shop: https://muzz.in/sale T&C apply. Reply STOP to opt out",
            "{{customer.first_name}}, आपकी याद आई! कोड {{context.coupon_code}} से अगले Muzz ऑर्डर पर 10% "
            "छूट पाएँ। https://muzz.in/sale शर्तें लागू। बंद करने के लिए STOP भेजें",
            ("1207168234561000401", "1207168234561000402"),
            header=PROMO_HEADER,
        ),
    },
    {
        "key": "loan_received_whatsapp",
        "name": "Loan application received",
        "channel": "whatsapp",
        "purpose": "service",
        "fields": {
            "category": "UTILITY",
            "provider_name": "loan_application_received",
            "header_type": "none",
        },
        "variants": {
            "en": _wa_variant(
                "Hi {{1}}, we have received your loan application {{2}}. Our team will review it within "
                "2 working days.",
                LOAN_MAP,
                [
                    _url("Track Application", "https://muzz.in/loans/status"),
                    _reply("Speak to an Advisor"),
                ],
                "Muzz Finance",
            ),
            "hi": _wa_variant(
                "नमस्ते {{1}}, हमें आपका लोन आवेदन {{2}} मिल गया है। हमारी टीम 2 कार्यदिवसों में इसकी जाँच करेगी।",
                LOAN_MAP,
                [_url("आवेदन ट्रैक करें", "https://muzz.in/loans/status"), _reply("सलाहकार से बात करें")],
                "Muzz Finance",
            ),
        },
    },
    {
        "key": "loan_approved_sms",
        "name": "Loan approved",
        "channel": "sms",
        "purpose": "service",
        **_sms(
            "Dear {{customer.first_name}}, your Muzz loan {{context.loan_id}} for {{context.loan_amount}} "
            "is approved. EMI {{context.emi_amount}} for {{context.tenure_months}} months. "
            "Details: https://muzz.in/loans - Muzz Finance",
            "प्रिय {{customer.first_name}}, आपका Muzz लोन {{context.loan_id}} ({{context.loan_amount}}) "
            "स्वीकृत हो गया है। EMI {{context.emi_amount}}, {{context.tenure_months}} महीने। "
            "https://muzz.in/loans - Muzz Finance",
            ("1207168234561000601", "1207168234561000602"),
        ),
    },
    {
        "key": "emi_reminder_voice",
        "name": "EMI reminder voice bot",
        "channel": "voice",
        "purpose": "service",
        "fields": {"menu": {"1": "pay_now", "2": "talk_to_us"}, "retries": 2},
        "variants": {
            "en": {
                "prompt": "Namaste {{customer.first_name}}. This is Muzz Finance. Your EMI of "
                "{{context.emi_amount}} is due on {{context.emi_due_date}}. Press 1 to pay now or press 2 "
                "to speak to us.",
                "no_input_prompt": "We did not hear a key. Press 1 to pay now or press 2 to speak to us.",
                "invalid_prompt": "Please press 1 to pay now or 2 to speak to us.",
            },
            "hi": {
                "prompt": "नमस्ते {{customer.first_name}}, मैं Muzz Finance से बोल रही हूँ। आपकी "
                "{{context.emi_amount}} की EMI {{context.emi_due_date}} को देय है। अभी भुगतान करने के लिए 1 "
                "दबाएँ, हमसे बात करने के लिए 2 दबाएँ।",
                "no_input_prompt": "हमें कोई बटन सुनाई नहीं दिया। भुगतान के लिए 1, बात करने के लिए 2 दबाएँ।",
                "invalid_prompt": "कृपया भुगतान के लिए 1 या बात करने के लिए 2 दबाएँ।",
            },
        },
    },
    {
        "key": "payment_receipt_whatsapp",
        "name": "Payment receipt",
        "channel": "whatsapp",
        "purpose": "transactional",
        "fields": {
            "category": "UTILITY",
            "provider_name": "payment_receipt",
            "header_type": "none",
        },
        "variants": {
            "en": _wa_variant(
                "Hi {{1}}, we have received your payment of {{2}} (reference {{3}}). Thank you!",
                RECEIPT_MAP,
                [_url("Download Receipt", "https://muzz.in/receipts")],
                "Muzz Finance",
            ),
            "hi": _wa_variant(
                "नमस्ते {{1}}, हमें आपका {{2}} का भुगतान मिल गया है (संदर्भ {{3}})। धन्यवाद!",
                RECEIPT_MAP,
                [_url("रसीद डाउनलोड करें", "https://muzz.in/receipts")],
                "Muzz Finance",
            ),
        },
    },
]


def demo_templates_seed(workspace: Workspace, rng: random.Random | None = None) -> None:
    """Create the demo DLT settings, variables and templates that are not there yet."""
    if not DltSettings.objects.filter(workspace=workspace).exists():
        dlt_settings_set(workspace=workspace, entity_id=ENTITY_ID, whitelisted_domains=WHITELIST)
    existing = set(
        TemplateVariable.objects.filter(workspace=workspace).values_list("name", flat=True)
    )
    for name, kind, sample, description in WORKSPACE_VARIABLES:
        if name not in existing:
            template_variable_create(
                workspace=workspace, name=name, type=kind, sample=sample, description=description
            )
    for spec in DEMO_TEMPLATES:
        if template_get_by_key(workspace=workspace, key=spec["key"]) is not None:
            continue
        template = template_create(
            workspace=workspace,
            key=spec["key"],
            name=spec["name"],
            channel=spec["channel"],
            purpose=spec["purpose"],
        )
        version = template_version_create(
            template=template, fields=spec["fields"], variants=spec["variants"]
        )
        if version.status != "approved":
            template_status_set(
                version=version, status="approved", reason="Approved by Meta (demo data)"
            )
