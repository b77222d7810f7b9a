"""The three seed journeys, driven by scripted inputs on an explicit clock, for customer profiles
(WhatsApp or not, consent blocks, read or not, pays or not, answers or not). No database."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from journeys.engine import (
    CallRequest,
    CustomerView,
    EventInput,
    SendRequest,
    UpdateAttribute,
    holdout_assign,
    journey_export,
    journey_parse,
)
from journeys.engine.seeds import SEED_TEMPLATES, seed_versions
from journeys.engine.simulate import Simulation

IST = ZoneInfo("Asia/Kolkata")
SEEDS = seed_versions()
WHATSAPP_USER = CustomerView(
    customer_id="c-wa",
    reachable={"whatsapp": True},
    consent={"whatsapp.service": "granted", "sms.promotional": "granted"},
)
SMS_ONLY = CustomerView(customer_id="c-sms", reachable={"whatsapp": False})


def ist(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=IST)


def treated_run_id(percent, prefix="run"):
    return next(f"{prefix}-{i}" for i in range(100) if not holdout_assign(f"{prefix}-{i}", percent))


def control_run_id(percent, prefix="run"):
    return next(f"{prefix}-{i}" for i in range(1000) if holdout_assign(f"{prefix}-{i}", percent))


def sends(sim):
    return [
        (e.channel, e.template) if isinstance(e, SendRequest) else ("voice", e.template)
        for e in sim.effects
        if isinstance(e, SendRequest | CallRequest)
    ]


def test_seed_templates_are_the_ones_the_journeys_use():
    used = set()
    for version in SEEDS.values():
        for node in version.nodes:
            config = node.config
            used.update(v for k, v in config.items() if k == "template")
    assert used <= set(SEED_TEMPLATES)


def test_seed_journeys_survive_export_and_import_unchanged():
    for version in SEEDS.values():
        exported = journey_export(version)
        assert journey_export(journey_parse(exported)) == exported
        assert journey_parse(exported) == version


# --- 3. payment reminder with fallback ---------------------------------------------------------

REMINDER = SEEDS["payment-reminder-fallback"]
DUE = {"loan_id": "L-7", "amount": 4500}


def reminder(customer=WHATSAPP_USER, run_id=None, start=None):
    run_id = run_id or treated_run_id(10)
    sim = Simulation(REMINDER, run_id=run_id, now=start or ist(2, 10), customer=customer)
    sim.start(EventInput("payment.due", sim.now, DUE))
    return sim


def test_reader_who_pays_gets_only_the_whatsapp_reminder():
    sim = reminder()
    sim.verdict("sent")
    sim.advance_by(timedelta(hours=2))
    sim.outcome("read", key=f"{sim.run_id}:whatsapp:1")
    sim.advance_by(timedelta(hours=5))
    sim.event("payment.received", loan_id="L-7", amount=4500)
    assert sim.path() == [
        ("trigger", "out", "enrolled on payment.due"),
        ("whatsapp", "sent", "sent by WhatsApp"),
        ("wait_read", "matched", "matched: WhatsApp read"),
        ("wait_payment", None, "goal: payment.received"),
    ]
    assert sends(sim) == [("whatsapp", "payment_reminder_whatsapp")]
    assert sim.state.status == "completed"
    assert sim.state.end_reason == "goal: payment.received"


def test_unread_whatsapp_falls_back_to_sms_after_24h_and_payment_completes():
    sim = reminder()
    sim.verdict("sent")
    sim.outcome("delivered")
    sim.advance_to(ist(3, 10))
    sim.verdict("sent")
    sim.advance_to(ist(3, 18))
    sim.event("payment.received", loan_id="L-7")
    assert sim.path() == [
        ("trigger", "out", "enrolled on payment.due"),
        ("whatsapp", "sent", "sent by WhatsApp"),
        ("wait_read", "timeout", "fallback: WhatsApp unread after 24h"),
        ("sms", "sent", "sent by SMS"),
        ("wait_payment", None, "goal: payment.received"),
    ]
    assert sends(sim) == [
        ("whatsapp", "payment_reminder_whatsapp"),
        ("sms", "payment_reminder_sms"),
    ]
    assert [e.key for e in sim.effects if isinstance(e, SendRequest)] == [
        f"{sim.run_id}:whatsapp:1",
        f"{sim.run_id}:sms:1",
    ]


def test_no_consent_skips_whatsapp_then_no_payment_brings_the_voice_bot_in_calling_hours():
    sim = reminder(customer=SMS_ONLY, start=ist(2, 17))
    sim.verdict("skipped", "no_consent:whatsapp:service")
    sim.verdict("sent")
    sim.advance_to(ist(4, 17))  # 48h later: the call is due at 17:00 ...
    sim.verdict("sent")
    sim.call("answered")
    sim.call("keypress", digits="1")
    sim.advance_to(ist(5, 9))
    sim.event("payment.received", loan_id="L-7")
    assert sim.path() == [
        ("trigger", "out", "enrolled on payment.due"),
        ("whatsapp", "skipped", "skipped: no WhatsApp consent"),
        ("sms", "sent", "sent by SMS"),
        ("wait_payment", "timeout", "timeout: no payment.received within 48h"),
        ("voice", "1", "pressed 1: pay now"),
        ("wait_after_call", None, "goal: payment.received"),
    ]
    (call,) = [e for e in sim.effects if isinstance(e, CallRequest)]
    assert (call.template, call.collection, call.calling_window) == (
        "emi_reminder_voice",
        True,
        ("08:00", "19:00"),
    )
    assert sim.state.status == "completed"


def test_a_call_due_at_night_is_deferred_to_08_00_by_calling_hours():
    sim = reminder(customer=SMS_ONLY, start=ist(2, 22))
    sim.verdict("skipped", "no_consent:whatsapp:service")
    sim.verdict("sent")
    sim.advance_to(ist(4, 22))
    sim.verdict("deferred", "calling hours", until=ist(5, 8))
    assert sim.state.wait.reason == "deferred to 08:00 by calling hours"
    sim.advance_to(ist(5, 8))
    sim.verdict("sent")
    sim.call("no_answer")
    sim.advance_to(ist(8, 8))
    voice = [s for s in sim.steps if s.node_id == "voice"][0]
    assert voice.notes == ("deferred to 08:00 by calling hours",)
    assert sim.path()[-3:] == [
        ("voice", "no_answer", "no answer (no answer)"),
        ("wait_after_call", "timeout", "timeout: no payment.received within 3 days"),
        ("unpaid", None, "exit: no payment after the call"),
    ]
    assert (sim.state.status, sim.state.end_reason) == ("exited", "exit: no payment after the call")


def test_holdout_customer_gets_nothing_but_is_followed_to_the_goal():
    sim = reminder(run_id=control_run_id(10))
    assert sim.state.holdout
    sim.advance_to(ist(3, 10))
    sim.advance_to(ist(5, 10))
    sim.event("payment.received", loan_id="L-7")
    assert sends(sim) == []
    assert sim.path() == [
        ("trigger", "out", "enrolled on payment.due"),
        ("whatsapp", "sent", "holdout: not sent"),
        ("wait_read", "timeout", "timeout: no message to watch for read within 24h"),
        ("sms", "sent", "holdout: not sent"),
        ("wait_payment", "timeout", "timeout: no payment.received within 48h"),
        ("voice", "no_answer", "holdout: not called"),
        ("wait_after_call", None, "goal: payment.received"),
    ]
    assert sim.state.status == "completed"


def test_about_ten_percent_of_runs_are_held_out():
    held = sum(holdout_assign(f"run-{i}", REMINDER.holdout_percent) for i in range(5000))
    assert 400 < held < 600


def test_a_payment_for_another_loan_does_not_complete_the_run():
    sim = reminder()
    sim.verdict("sent")
    sim.event("payment.received", loan_id="L-OTHER")
    assert sim.state.status == "waiting"
    assert sim.state.node_id == "wait_read"


# --- 2. NBFC: loan application to EMI reminder -------------------------------------------------

LOAN = SEEDS["nbfc-loan-to-emi"]
APPROVAL = {
    "loan_id": "LN-1",
    "loan_amount": 200000,
    "emi_amount": 9400,
    "tenure_months": 24,
    "emi_due_date": "2026-03-20",
}


def loan(customer=WHATSAPP_USER):
    sim = Simulation(LOAN, run_id="loan-run", now=ist(2, 11), customer=customer)
    sim.start(EventInput("loan.application_received", sim.now, {"loan_id": "LN-1"}))
    sim.verdict("sent")
    sim.advance_to(ist(4, 15))
    sim.event("loan.approved", **APPROVAL)
    sim.verdict("sent")
    return sim


LOAN_START = [
    ("trigger", "out", "enrolled on loan.application_received"),
    ("received", "sent", "sent by WhatsApp"),
    ("wait_approval", "matched", "matched: loan.approved"),
    ("approved", "sent", "sent by SMS"),
]


def test_borrower_presses_2_gets_an_advisor_then_pays_on_time_and_gets_a_receipt():
    sim = loan()
    assert sim.state.wait.wake_at == ist(17, 10)
    sim.advance_to(ist(17, 10))
    sim.verdict("sent")
    sim.call("keypress", digits="2")
    sim.advance_to(ist(19, 12))
    sim.event("payment.received", loan_id="LN-1", amount=9400)
    sim.verdict("sent")
    assert sim.path() == LOAN_START + [
        ("wait_emi", "out", "waited: until 3 days before emi_due_date 10:00"),
        ("call", "2", "pressed 2: speak to us"),
        ("advisor", "out", "set attribute.advisor_callback_requested = True"),
        ("wait_payment", None, "goal: payment.received, moving to receipt"),
        ("receipt", "sent", "sent by WhatsApp"),
        ("done", None, "exit: receipt sent"),
    ]
    assert UpdateAttribute("loan-run", "advisor", "advisor_callback_requested", True) in sim.effects
    assert sends(sim) == [
        ("whatsapp", "loan_received_whatsapp"),
        ("sms", "loan_approved_sms"),
        ("voice", "emi_reminder_voice"),
        ("whatsapp", "payment_receipt_whatsapp"),
    ]
    approval = [e for e in sim.effects if isinstance(e, SendRequest)][1]
    assert approval.variables["loan_amount"] == 200000 and approval.variables["emi_amount"] == 9400
    assert sim.state.status == "completed"


def test_borrower_who_pays_before_the_reminder_is_never_called():
    sim = loan()
    sim.advance_to(ist(10, 9))
    sim.event("payment.received", loan_id="LN-1")
    sim.verdict("sent")
    assert sim.path() == LOAN_START + [
        ("wait_emi", None, "goal: payment.received, moving to receipt"),
        ("receipt", "sent", "sent by WhatsApp"),
        ("done", None, "exit: receipt sent"),
    ]
    assert ("voice", "emi_reminder_voice") not in sends(sim)
    assert sim.state.status == "completed"


def test_late_payment_still_gets_a_receipt_but_misses_the_goal():
    sim = loan()
    sim.advance_to(ist(17, 10))
    sim.verdict("sent")
    sim.call("no_answer")
    sim.advance_to(ist(21, 10))
    sim.event("payment.received", loan_id="LN-1")
    sim.verdict("sent")
    assert sim.path()[-4:] == [
        ("call", "no_answer", "no answer (no answer)"),
        ("wait_payment", "matched", "matched: payment.received"),
        ("receipt", "sent", "sent by WhatsApp"),
        ("done", None, "exit: receipt sent"),
    ]
    assert (sim.state.status, sim.state.goal_reached_at) == ("exited", None)


def test_rejected_loan_exits_wherever_the_run_is():
    sim = Simulation(LOAN, run_id="loan-run", now=ist(2, 11), customer=WHATSAPP_USER)
    sim.start(EventInput("loan.application_received", sim.now, {"loan_id": "LN-1"}))
    sim.verdict("sent")
    sim.event("loan.rejected", loan_id="LN-1")
    assert sim.path()[-1] == ("wait_approval", None, "exit: loan rejected")
    assert sim.state.status == "exited"


# --- 1. e-commerce: order to delivery to re-engagement -----------------------------------------

SHOP = SEEDS["ecommerce-order-to-reengagement"]
ORDER = {"order_id": "58821", "total": 1299}


def order(customer, start=None):
    sim = Simulation(SHOP, run_id="order-run", now=start or ist(2, 14), customer=customer)
    sim.start(EventInput("order.placed", sim.now, ORDER))
    sim.verdict("sent")
    sim.advance_to(sim.now + timedelta(hours=20))
    sim.event("order.dispatched", order_id="58821", tracking_url="https://t.example/58821")
    return sim


SHOP_START = [
    ("trigger", "out", "enrolled on order.placed"),
    ("confirm", "sent", "sent by SMS"),
    ("wait_dispatch", "matched", "matched: order.dispatched"),
]


def test_whatsapp_customer_with_consent_gets_the_return10_offer_inside_hours():
    sim = order(WHATSAPP_USER)
    sim.verdict("sent")
    assert sim.state.context["ivr_template"] == "out_for_delivery_ivr"
    sim.advance_to(ist(4, 22))
    sim.event("order.delivered", order_id="58821")
    sim.advance_to(ist(7, 22))  # 3 days later, 22:00: outside 09:00-21:00
    assert sim.state.node_id == "promo_hours"
    sim.advance_to(ist(8, 9))
    sim.verdict("sent")
    assert sim.path() == SHOP_START + [
        ("has_whatsapp", "yes", "yes: has WhatsApp"),
        ("dispatch_wa", "sent", "sent by WhatsApp"),
        ("ivr_status", "out", "set context.ivr_template = 'out_for_delivery_ivr'"),
        ("wait_delivered", "matched", "matched: order.delivered"),
        ("wait_3d", "out", "waited: 3 days"),
        ("promo_ok", "yes", "yes: SMS promotional consent"),
        ("promo_hours", "out", "waited: until inside 09:00-21:00"),
        ("coupon", "out", "set context.coupon_code = 'RETURN10'"),
        ("promo", "sent", "sent by SMS"),
        ("done", None, "exit: re-engagement offered"),
    ]
    assert sends(sim) == [
        ("sms", "order_confirmation_sms"),
        ("whatsapp", "dispatch_whatsapp"),
        ("sms", "return10_promo_sms"),
    ]
    promo = [e for e in sim.effects if isinstance(e, SendRequest)][-1]
    assert (promo.purpose, promo.respect_quiet_hours) == ("promotional", True)
    assert sim.state.status == "completed"


def test_sms_customer_without_promotional_consent_gets_sms_dispatch_and_no_offer():
    sim = order(SMS_ONLY)
    sim.verdict("sent")
    sim.advance_to(ist(4, 12))
    sim.event("order.delivered", order_id="58821")
    sim.advance_to(ist(7, 12))
    assert sim.path()[3:] == [
        ("has_whatsapp", "no", "no: not (has WhatsApp)"),
        ("dispatch_sms", "sent", "sent by SMS"),
        ("ivr_status", "out", "set context.ivr_template = 'out_for_delivery_ivr'"),
        ("wait_delivered", "matched", "matched: order.delivered"),
        ("wait_3d", "out", "waited: 3 days"),
        ("promo_ok", "no", "no: not (SMS promotional consent)"),
        ("no_promo", None, "exit: no promotional consent"),
    ]
    assert sends(sim) == [("sms", "order_confirmation_sms"), ("sms", "dispatch_sms")]
    assert sim.state.status == "completed"  # delivered without a support contact


def test_blocked_whatsapp_dispatch_falls_back_to_sms_and_a_support_call_misses_the_goal():
    sim = order(WHATSAPP_USER)
    sim.verdict("skipped", "outside_service_window")
    sim.verdict("sent")
    sim.advance_to(ist(3, 18))
    sim.event("inbound.call", from_number="+919800000001")
    sim.advance_to(ist(4, 12))
    sim.event("order.delivered", order_id="58821")
    assert sim.path()[3:7] == [
        ("has_whatsapp", "yes", "yes: has WhatsApp"),
        ("dispatch_wa", "skipped", "skipped: outside WhatsApp's 24-hour window"),
        ("dispatch_sms", "sent", "sent by SMS"),
        ("ivr_status", "out", "set context.ivr_template = 'out_for_delivery_ivr'"),
    ]
    assert sim.state.goal_reached_at is None
    sim.advance_to(ist(7, 12))
    sim.verdict("sent")
    assert sim.state.status == "exited"


def test_promo_is_never_sent_when_delivery_is_never_confirmed():
    sim = order(WHATSAPP_USER)
    sim.verdict("sent")
    sim.advance_to(ist(20, 12))
    assert sim.path()[-2:] == [
        ("wait_delivered", "timeout", "timeout: no order.delivered within 10 days"),
        ("not_delivered", None, "exit: not delivered in 10 days"),
    ]
    assert ("sms", "return10_promo_sms") not in sends(sim)


def test_cancelled_order_exits_at_once():
    sim = order(WHATSAPP_USER)
    sim.event("order.cancelled", order_id="58821")
    assert sim.path()[-1] == ("dispatch_wa", None, "exit: order cancelled")
    assert sim.state.status == "exited"
