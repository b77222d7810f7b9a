"""In the phone view an operator answers a simulated outbound voice-bot call, presses 1, and the
key press and the follow-up SMS appear on the customer's timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from channels_app.ivr.menus import ivr_menu_save
from channels_app.models import Call, Message
from channels_app.outbox.dispatch import outbox_dispatch
from channels_app.outbox.services import message_enqueue
from channels_app.outbox.simulated import simulated_outcomes_deliver
from channels_app.providers_console.services import simulator_settings_save
from channels_app.tmpl.demo import demo_templates_seed
from tests.browser.conftest import CHROMIUM_ARGS
from tests.channels_app.outbox_fixtures import ORDER, customer_make

PASSWORD = "test-pass-2026"


def ringing_call(workspace):
    demo_templates_seed(workspace)
    simulator_settings_save(workspace=workspace, config={"manual_channels": ["voice"]})
    ivr_menu_save(
        workspace=workspace,
        key="out_for_delivery_ivr",
        language="en",
        greeting="Delivery call",
        actions={
            "1": {
                "action": "send",
                "channel": "sms",
                "template_key": "order_confirmation_sms",
                "label": "send details",
            }
        },
    )
    customer = customer_make(workspace)
    now = timezone.now()
    message_enqueue(
        workspace=workspace,
        customer=customer,
        channel="voice",
        template_key="out_for_delivery_ivr",
        purpose="service",
        variables=ORDER,
        idempotency_key="run:5:node:call:1",
        run_id=5,
        node_id="call",
        at=now,
        kind="call",
    )
    outbox_dispatch(now=now)
    simulated_outcomes_deliver(now=now + timedelta(minutes=1))
    assert Call.objects.get().status == "ringing"
    return customer


@pytest.mark.browser
def test_answer_a_simulated_call_press_1_and_see_it_on_the_timeline(
    transactional_db, daphne_server, workspace, make_member
):
    operator = make_member(workspace, "operations")
    customer = ringing_call(workspace)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(15000)
        page.goto(f"{daphne_server}/login/")
        page.fill("#id_username", operator.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{daphne_server}/")
        page.goto(f"{daphne_server}/channels/phone/?customer={customer.external_id}")
        page.get_by_role("button", name="Answer").click()
        expect(page.locator("#live-call")).to_have_attribute("data-status", "answered")
        expect(page.locator(".prompt")).to_contain_text("Your order number 58821")
        page.get_by_role("button", name="Key 1").click()
        expect(page.locator("#handset")).to_contain_text("keys 1")

        page.goto(f"{daphne_server}/customers/{customer.id}/")
        timeline = page.locator("#timeline")
        expect(timeline).to_contain_text("call.keypress")
        expect(timeline).to_contain_text("SMS order_confirmation_sms")
        browser.close()
    follow_up = Message.objects.get(template_key="order_confirmation_sms")
    assert follow_up.run_id == 5 and "58821" in follow_up.rendered_text
