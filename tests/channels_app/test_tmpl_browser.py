"""The template editor in a real browser: live checks follow the text as the author types."""

import pytest

from channels_app.tmpl.services import template_create
from tests.browser.conftest import browser, login, page  # noqa: F401  (fixtures)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketing_types_an_sms_and_sees_encoding_segments_and_preview_update(
    page,  # noqa: F811  (the fixture imported above)
    workspace,
    make_member,
):
    make_member(workspace, "marketing", username="meera")
    template = template_create(
        workspace=workspace,
        key="order_sms",
        name="Order confirmation",
        channel="sms",
        purpose="transactional",
    )
    login(page, "meera", PASSWORD)
    page.goto(f"/templates/{template.pk}/edit/")
    page.fill("#id_header", "MUZZTK")
    page.fill("#id_entity_id", "1201161234567890123")
    page.fill("#id_dlt_template_id", "1207168234561000101")
    page.locator("#id_body").type("Hi {{customer.first_name}}, your order is confirmed.")
    page.locator("[data-check=encoding]", has_text="GSM-7").wait_for(timeout=10_000)
    page.locator(".phone-head", has_text="VM-MUZZTK-T").wait_for()
    assert "Hi Priya, your order is confirmed." in page.locator(".phone .bubble").inner_text()

    page.locator("#id_body").fill("नमस्ते {{customer.first_name}}, आपका ऑर्डर कन्फ़र्म हो गया है।")
    page.locator("#id_body").dispatch_event("input")
    page.locator("[data-check=encoding]", has_text="UCS-2").wait_for(timeout=10_000)

    page.click("button.primary[type=submit]")
    page.wait_for_url(f"**/templates/{template.pk}/")
    assert "v1" in page.locator(".table").first.inner_text()
    assert page.console_errors == []
    assert page.outside_requests == []
