"""A support user withdraws WhatsApp promotional consent with a reason, in a real browser, and
sees it in the matrix, the history, the audit log and the customer's timeline."""

import pytest
from playwright.sync_api import expect, sync_playwright

from channels_app.consent.selectors import consent_state
from channels_app.consent.services import consent_grant
from console.models import AuditEntry, Customer
from tests.browser.conftest import CHROMIUM_ARGS

PASSWORD = "test-pass-2026"
REASON = "Customer rang the helpline and asked for no more WhatsApp offers"


@pytest.mark.browser
def test_support_withdraws_whatsapp_promotional_consent_with_a_reason(
    transactional_db, daphne_server, workspace, make_member
):
    support = make_member(workspace, "support")
    customer = Customer.objects.create(
        workspace=workspace,
        external_id="C77",
        name="Meera Iyer",
        phone="+919812300077",
        whatsapp=True,
    )
    consent_grant(
        customer=customer,
        channel="whatsapp",
        purpose="promotional",
        source="form",
        proof="Checkout opt-in, order #58821",
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(15000)
        page.goto(f"{daphne_server}/login/")
        page.fill("#id_username", support.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{daphne_server}/")
        page.goto(f"{daphne_server}/customers/{customer.id}/")
        expect(page.locator("body")).to_have_attribute("data-live", "on")  # timeline subscribed

        cell = page.locator('tr[data-channel="whatsapp"] td[data-purpose="promotional"]')
        expect(cell).to_have_attribute("data-status", "granted")
        cell.get_by_role("button", name="Withdraw").click()
        page.get_by_label("Reason (required)").fill(REASON)
        page.get_by_role("button", name="Confirm withdrawal").click()

        expect(cell).to_have_attribute("data-status", "withdrawn")  # the matrix
        expect(cell.get_by_role("button", name="Grant")).to_be_visible()  # as easy to undo
        history = page.locator("#consent-history li").first
        expect(history).to_contain_text("WhatsApp promotional withdrawn")
        expect(history).to_contain_text(REASON)
        audit = page.locator("#consent-audit li").first
        expect(audit).to_contain_text("consent.withdrawn")
        expect(audit).to_contain_text(support.username)
        expect(audit).to_contain_text(REASON)
        timeline = page.locator("#timeline li.kind-consent").first  # refreshed by the live notice
        expect(timeline).to_contain_text("withdrawn")
        expect(timeline).to_contain_text(REASON)

        page.goto(f"{daphne_server}/settings/audit/?action=consent")  # the workspace audit log
        row = page.locator("#audit-rows tr").first
        expect(row).to_contain_text("consent.withdrawn")
        expect(row).to_contain_text(support.username)
        browser.close()
    assert (
        consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "withdrawn"
    )
    assert AuditEntry.objects.filter(action="consent.withdrawn", actor=support).exists()
