"""The three seed journeys (demo workspace and builder gallery) as version JSON (format 1).

Template keys live in ``SEED_TEMPLATES`` (key -> channel, category) so they can be aligned with the
templates capability in one place. Categories use each channel's own words: SMS/voice
transactional|service|promotional, WhatsApp utility|marketing|authentication.
"""

from __future__ import annotations

from typing import Any

from .format import JourneyVersion, journey_parse

SEED_TEMPLATES: dict[str, tuple[str, str]] = {
    "order_confirmation_sms": ("sms", "transactional"),
    "dispatch_whatsapp": ("whatsapp", "utility"),
    "dispatch_sms": ("sms", "service"),
    "out_for_delivery_ivr": ("voice", "service"),
    "return10_promo_sms": ("sms", "promotional"),
    "loan_received_whatsapp": ("whatsapp", "utility"),
    "loan_approved_sms": ("sms", "service"),
    "emi_reminder_voice": ("voice", "service"),
    "payment_receipt_whatsapp": ("whatsapp", "utility"),
    "payment_reminder_whatsapp": ("whatsapp", "utility"),
    "payment_reminder_sms": ("sms", "service"),
}
CALLING_HOURS = {"start": "08:00", "end": "19:00"}
VOICE_MENU = {"1": "pay now", "2": "speak to us"}


def _node(node_id: str, kind: str, col: int, row: int, label: str, **config: Any) -> dict:
    return {
        "id": node_id,
        "kind": kind,
        "config": config,
        "position": {"x": 80 + col * 260, "y": 80 + row * 140},
        "label": label,
    }


def _edges(*triples: tuple[str, str, str]) -> list[dict]:
    return [{"from": source, "port": port, "to": target} for source, port, target in triples]


def _send_all(source: str, target: str) -> list[tuple[str, str, str]]:
    """A send whose every outcome leads on to the same node."""
    return [(source, port, target) for port in ("sent", "skipped", "failed")]


def _version(**fields: Any) -> dict:
    base = {
        "format": 1,
        "trigger": {"node": "trigger"},
        "goal": None,
        "exit_conditions": [],
        "entry": {"reentry": "always", "cooldown_hours": 0, "one_active_per_key": True},
        "holdout_percent": 0,
        "priority": 0,
        "suppresses": [],
    }
    return base | fields


def ecommerce_order_journey() -> dict:
    """order.placed -> SMS confirmation -> on dispatch WhatsApp (SMS without WhatsApp) -> inbound
    callers hear the status -> 3 days after delivery, RETURN10 promo SMS with consent, in hours."""
    n = _node
    nodes = [
        n("trigger", "trigger.event", 0, 1, "Order placed", event="order.placed"),
        n("confirm", "send", 1, 1, "SMS confirmation", channel="sms",
          template="order_confirmation_sms", purpose="transactional"),
        n("wait_dispatch", "wait_for", 2, 1, "Dispatched?", event="order.dispatched", days=7),
        n("has_whatsapp", "branch", 3, 1, "Has WhatsApp?", arms=[
            {"port": "yes", "label": "has WhatsApp",
             "when": {"path": "reachable.whatsapp", "op": "is_true"}}], otherwise="no"),
        n("dispatch_wa", "send", 4, 0, "WhatsApp dispatch", channel="whatsapp",
          template="dispatch_whatsapp", purpose="service"),
        n("dispatch_sms", "send", 4, 2, "SMS dispatch", channel="sms",
          template="dispatch_sms", purpose="service"),
        n("ivr_status", "update", 5, 1, "Inbound IVR: order status", target="context",
          name="ivr_template", value="out_for_delivery_ivr"),
        n("wait_delivered", "wait_for", 6, 1, "Delivered?", event="order.delivered", days=10),
        n("wait_3d", "wait", 7, 1, "3 days", mode="duration", days=3),
        n("promo_ok", "branch", 8, 1, "Promotional consent?", arms=[
            {"port": "yes", "label": "SMS promotional consent",
             "when": {"path": "consent.sms.promotional", "op": "eq", "value": "granted"}}],
          otherwise="no"),
        n("promo_hours", "wait", 9, 0, "Within 09:00-21:00", mode="window",
          window_start="09:00", window_end="21:00"),
        n("coupon", "update", 10, 0, "Coupon RETURN10", target="context", name="coupon_code",
          value="RETURN10"),
        n("promo", "send", 11, 0, "RETURN10 SMS", channel="sms", template="return10_promo_sms",
          purpose="promotional", respect_quiet_hours=True),
        n("done", "exit", 12, 0, "Done", reason="re-engagement offered"),
        n("no_promo", "exit", 9, 2, "No consent", reason="no promotional consent"),
        n("not_dispatched", "exit", 3, 3, "Not dispatched", reason="not dispatched in 7 days"),
        n("not_delivered", "exit", 7, 3, "Not delivered", reason="not delivered in 10 days"),
    ]  # fmt: skip
    edges = _edges(
        ("trigger", "out", "confirm"),
        *_send_all("confirm", "wait_dispatch"),
        ("wait_dispatch", "matched", "has_whatsapp"),
        ("wait_dispatch", "timeout", "not_dispatched"),
        ("has_whatsapp", "yes", "dispatch_wa"),
        ("has_whatsapp", "no", "dispatch_sms"),
        ("dispatch_wa", "sent", "ivr_status"),
        ("dispatch_wa", "skipped", "dispatch_sms"),
        ("dispatch_wa", "failed", "dispatch_sms"),
        *_send_all("dispatch_sms", "ivr_status"),
        ("ivr_status", "out", "wait_delivered"),
        ("wait_delivered", "matched", "wait_3d"),
        ("wait_delivered", "timeout", "not_delivered"),
        ("wait_3d", "out", "promo_ok"),
        ("promo_ok", "yes", "promo_hours"),
        ("promo_ok", "no", "no_promo"),
        ("promo_hours", "out", "coupon"),
        ("coupon", "out", "promo"),
        *_send_all("promo", "done"),
    )
    return _version(
        goal={"event": "order.delivered", "then": "continue",
              "when": {"path": "seen.inbound.call", "op": "not_exists"}},
        exit_conditions=[{"event": "order.cancelled", "reason": "order cancelled"}],
        entry={"reentry": "always", "cooldown_hours": 0, "one_active_per_key": True,
               "correlation_key": "order_id"},
        nodes=nodes, edges=edges,
    )  # fmt: skip


def nbfc_loan_journey() -> dict:
    """loan.application_received -> WhatsApp -> loan.approved -> SMS approval -> 3 days before
    emi_due_date a voice-bot call (08:00-19:00) -> on payment.received a WhatsApp receipt."""
    n = _node
    nodes = [
        n("trigger", "trigger.event", 0, 1, "Application received",
          event="loan.application_received"),
        n("received", "send", 1, 1, "WhatsApp: application received", channel="whatsapp",
          template="loan_received_whatsapp", purpose="service"),
        n("wait_approval", "wait_for", 2, 1, "Approved?", event="loan.approved", days=30),
        n("approved", "send", 3, 1, "SMS approval", channel="sms",
          template="loan_approved_sms", purpose="service"),
        n("wait_emi", "wait", 4, 1, "3 days before EMI", mode="date", date_source="context",
          date_name="emi_due_date", offset_days=-3, at="10:00"),
        n("call", "voice_call", 5, 1, "EMI reminder call", template="emi_reminder_voice",
          keys=VOICE_MENU, purpose="service", collection=True, calling_window=CALLING_HOURS),
        n("advisor", "update", 6, 2, "Advisor callback", target="attribute",
          name="advisor_callback_requested", value=True),
        n("wait_payment", "wait_for", 7, 1, "Paid?", event="payment.received", days=5),
        n("receipt", "send", 8, 1, "WhatsApp receipt", channel="whatsapp",
          template="payment_receipt_whatsapp", purpose="transactional"),
        n("done", "exit", 9, 1, "Done", reason="receipt sent"),
        n("no_approval", "exit", 3, 3, "Not approved", reason="not approved in 30 days"),
        n("unpaid", "exit", 8, 3, "Unpaid", reason="no payment 5 days after the call"),
    ]  # fmt: skip
    edges = _edges(
        ("trigger", "out", "received"),
        *_send_all("received", "wait_approval"),
        ("wait_approval", "matched", "approved"),
        ("wait_approval", "timeout", "no_approval"),
        *_send_all("approved", "wait_emi"),
        ("wait_emi", "out", "call"),
        ("call", "1", "wait_payment"),
        ("call", "2", "advisor"),
        ("call", "no_key", "wait_payment"),
        ("call", "no_answer", "wait_payment"),
        ("advisor", "out", "wait_payment"),
        ("wait_payment", "matched", "receipt"),
        ("wait_payment", "timeout", "unpaid"),
        *_send_all("receipt", "done"),
    )
    return _version(
        goal={"event": "payment.received", "then": "goto", "goto": "receipt",
              "when": {"path": "now", "op": "lte", "value_path": "context.emi_due_date"}},
        exit_conditions=[{"event": "loan.rejected", "reason": "loan rejected"}],
        entry={"reentry": "always", "cooldown_hours": 0, "one_active_per_key": True,
               "correlation_key": "loan_id"},
        priority=10,
        nodes=nodes, edges=edges,
    )  # fmt: skip


def payment_reminder_journey() -> dict:
    """WhatsApp reminder -> unread 24h -> SMS -> no payment in 48h -> voice bot; 10% holdout."""
    n = _node
    nodes = [
        n("trigger", "trigger.event", 0, 1, "Payment due", event="payment.due"),
        n("whatsapp", "send", 1, 1, "WhatsApp reminder", channel="whatsapp",
          template="payment_reminder_whatsapp", purpose="service"),
        n("wait_read", "wait_for", 2, 1, "Read in 24h?", outcome="read",
          message_node="whatsapp", hours=24),
        n("sms", "send", 3, 2, "SMS reminder", channel="sms", template="payment_reminder_sms",
          purpose="service"),
        n("wait_payment", "wait_for", 4, 1, "Paid in 48h?", event="payment.received", hours=48),
        n("voice", "voice_call", 5, 1, "Voice bot", template="emi_reminder_voice",
          keys=VOICE_MENU, purpose="service", collection=True, calling_window=CALLING_HOURS),
        n("wait_after_call", "wait_for", 6, 1, "Paid after the call?",
          event="payment.received", hours=72),
        n("paid", "goal", 7, 0, "Paid", reason="payment received"),
        n("unpaid", "exit", 7, 2, "Unpaid", reason="no payment after the call"),
    ]  # fmt: skip
    edges = _edges(
        ("trigger", "out", "whatsapp"),
        ("whatsapp", "sent", "wait_read"),
        ("whatsapp", "skipped", "sms"),
        ("whatsapp", "failed", "sms"),
        ("wait_read", "matched", "wait_payment"),
        ("wait_read", "timeout", "sms"),
        *_send_all("sms", "wait_payment"),
        ("wait_payment", "matched", "paid"),
        ("wait_payment", "timeout", "voice"),
        *[("voice", port, "wait_after_call") for port in ("1", "2", "no_key", "no_answer")],
        ("wait_after_call", "matched", "paid"),
        ("wait_after_call", "timeout", "unpaid"),
    )
    return _version(
        goal={"event": "payment.received", "then": "complete"},
        exit_conditions=[{"event": "loan.closed", "reason": "loan closed"}],
        entry={"reentry": "always", "cooldown_hours": 0, "one_active_per_key": True,
               "correlation_key": "loan_id"},
        holdout_percent=10, priority=20, suppresses=["promotional"],
        nodes=nodes, edges=edges,
    )  # fmt: skip


SEED_JOURNEYS = {
    "ecommerce-order-to-reengagement": (
        "E-commerce: order to delivery to re-engagement",
        ecommerce_order_journey,
    ),
    "nbfc-loan-to-emi": ("NBFC: loan application to EMI reminder", nbfc_loan_journey),
    "payment-reminder-fallback": ("Payment reminder with fallback", payment_reminder_journey),
}


def seed_versions() -> dict[str, JourneyVersion]:
    """Slug -> parsed version of every seed journey."""
    return {slug: journey_parse(build()) for slug, (_, build) in SEED_JOURNEYS.items()}
