"""In a real browser: an operations user sees a field-named error in place, then checks a send."""

import pytest
from playwright.sync_api import expect, sync_playwright

from channels_app.consent.services import consent_grant
from console.models import Customer
from tests.browser.conftest import CHROMIUM_ARGS as ARGS
from tests.conftest import PASSWORD


@pytest.mark.browser
def test_policy_errors_show_in_place_and_a_night_promotion_is_deferred(
    transactional_db, daphne_server, members, workspace
):
    customer = Customer.objects.create(
        workspace=workspace, external_id="C-77", name="Ravi", phone="+919812345678", whatsapp=True
    )
    consent_grant(
        customer=customer, channel="sms", purpose="promotional", source="form", proof="web form 12"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(daphne_server + "/login/")
        page.fill("input[name=username]", members["operations"].username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(daphne_server + "/channels/policies/")
        page.fill("#id_total_daily_cap", "0")
        page.click("text=Save policy")
        expect(page.locator("[data-field=total_daily_cap]")).to_contain_text(
            "below the promotional cap"
        )
        expect(page.locator("#id_total_daily_cap")).to_have_value("0")

        page.fill("input[name=customer]", "C-77")
        page.select_option("select[name=channel]", "sms")
        page.select_option("select[name=purpose]", "promotional")
        page.fill("input[name=at]", "2027-03-10T22:30")
        page.click("#check-a-send button[type=submit]")
        expect(page.locator("[data-action]")).to_have_text("defer")
        expect(page.locator("#check-result")).to_contain_text("11 Mar 2027 09:00")
        browser.close()
