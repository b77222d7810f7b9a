import httpx
import pytest

from console.models import Customer
from console.services import apikey_create
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_finds_a_customer_and_sees_an_api_event_arrive_without_reload(
    page, daphne_server, workspace, make_member
):
    make_member(workspace, "support", username="sunita")
    customer = Customer.objects.create(
        workspace=workspace,
        external_id="CUST-58821",
        name="Meenakshi Iyer",
        name_key="meenakshi iyer",
        phone="+919840012345",
        whatsapp=True,
    )
    _key, secret = apikey_create(workspace=workspace, name="browser test")

    login(page, "sunita", PASSWORD)
    page.keyboard.press("/")  # the shortcut focuses the global search
    page.keyboard.type("meenak")
    page.locator("#search-results a", has_text="Meenakshi Iyer").click()
    page.wait_for_url(f"**/customers/{customer.id}/")
    page.wait_for_selector("body[data-live='on']")
    assert page.locator(".timeline .entry").count() == 0
    page.evaluate("window.__marker = 'same page'")

    response = httpx.post(
        f"{daphne_server}/api/v1/events",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "event_id": "evt-browser-1",
            "customer": {"external_id": "CUST-58821"},
            "name": "order.dispatched",
            "properties": {"order_id": "58821", "courier": "Delhivery"},
        },
    )
    assert response.status_code == 202

    entry = page.locator(".timeline .entry", has_text="order.dispatched")
    entry.wait_for(timeout=10_000)
    assert "order_id=58821" in entry.inner_text()
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert page.console_errors == []
    assert page.outside_requests == []
