"""Template screens: who may view and edit, workspace isolation, live checks, form errors."""

import pytest

from channels_app.models import Template, TemplateVersion
from channels_app.tmpl.services import dlt_settings_set, template_create, template_version_create
from console.models import Customer

ENTITY = "1201161234567890123"


@pytest.fixture
def sms(workspace) -> Template:
    template = template_create(
        workspace=workspace,
        key="order_sms",
        name="Order confirmation",
        channel="sms",
        purpose="transactional",
    )
    template_version_create(
        template=template,
        fields={"header": "MUZZTK", "entity_id": ENTITY},
        variants={
            "en": {
                "body": "Hi {{customer.first_name}}, order {{event.order_id}} is confirmed.",
                "dlt_template_id": "1207168234561000101",
            }
        },
    )
    return template


def sms_post(body: str, **extra) -> dict:
    return {
        "language": "en",
        "header": "MUZZTK",
        "entity_id": ENTITY,
        "dlt_template_id": "1207168234561000101",
        "body": body,
        **extra,
    }


def test_a_viewer_sees_the_list_and_the_template_but_cannot_edit(client_as, sms):
    viewer = client_as("viewer")
    listing = viewer.get("/templates/")
    assert listing.status_code == 200 and "Order confirmation" in listing.content.decode()
    assert viewer.get(f"/templates/{sms.pk}/").status_code == 200
    assert viewer.get(f"/templates/{sms.pk}/edit/").status_code == 403
    assert viewer.post(f"/templates/{sms.pk}/edit/", sms_post("Changed")).status_code == 403
    assert viewer.get("/templates/new/").status_code == 403
    version = sms.versions.get()
    assert (
        viewer.post(
            f"/templates/{sms.pk}/versions/{version.pk}/status/", {"status": "paused"}
        ).status_code
        == 403
    )
    assert (
        viewer.post("/templates/settings/", {"form": "dlt", "entity_id": ENTITY}).status_code == 403
    )
    assert sms.versions.count() == 1


def test_marketing_creates_a_template_and_saves_a_version(client_as, workspace):
    marketing = client_as("marketing")
    created = marketing.post(
        "/templates/new/",
        {
            "key": "promo_sms",
            "name": "Promo",
            "channel": "sms",
            "purpose": "promotional",
            "fallback_language": "en",
        },
    )
    template = Template.objects.get(workspace=workspace, key="promo_sms")
    assert created.status_code == 302 and created["Location"] == f"/templates/{template.pk}/edit/"
    saved = marketing.post(
        f"/templates/{template.pk}/edit/", sms_post("Get 10% off with RETURN10", header="567890")
    )
    assert saved.status_code == 302
    assert template.versions.get().variants["en"]["body"] == "Get 10% off with RETURN10"


def test_the_editor_page_renders_with_live_checks_for_each_channel(client_as, sms, workspace):
    marketing = client_as("marketing")
    page = marketing.get(f"/templates/{sms.pk}/edit/")
    assert page.status_code == 200
    assert 'hx-trigger="input changed delay:200ms"' in page.content.decode()
    assert 'data-check="segments"' in page.content.decode()
    for channel in ("whatsapp", "voice"):
        template = template_create(
            workspace=workspace,
            key=f"new_{channel}",
            name=channel,
            channel=channel,
            purpose="service",
        )
        assert marketing.get(f"/templates/{template.pk}/edit/?lang=hi").status_code == 200


def test_another_workspaces_template_is_not_found(client_as, other_workspace):
    theirs = template_create(
        workspace=other_workspace, key="theirs", name="Theirs", channel="sms", purpose="service"
    )
    admin = client_as("admin")
    assert admin.get(f"/templates/{theirs.pk}/").status_code == 404
    assert admin.get(f"/templates/{theirs.pk}/edit/").status_code == 404
    assert admin.post(f"/templates/{theirs.pk}/check/", sms_post("x")).status_code == 404
    assert "Theirs" not in admin.get("/templates/").content.decode()


def check(client, template, body, **headers):
    return client.post(
        f"/templates/{template.pk}/check/", sms_post(body), HTTP_HX_REQUEST="true", **headers
    )


def test_the_live_check_counts_gsm7_text(client_as, sms):
    response = check(client_as("marketing"), sms, "A" * 161)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-check="encoding">GSM-7' in html
    assert 'data-check="characters">161<' in html
    assert 'data-check="segments">2<' in html
    from channels_app.policies.selectors import message_cost_estimate

    cost = message_cost_estimate(
        workspace=sms.workspace, channel="sms", category=sms.purpose, segments=2
    )
    assert f"₹{cost:.2f}" in html  # the workspace's cost table, two segments


def test_the_live_check_counts_devanagari_as_ucs2(client_as, sms):
    html = check(client_as("marketing"), sms, "नमस्ते, आपका ऑर्डर कन्फ़र्म हो गया है।").content.decode()
    assert 'data-check="encoding">UCS-2' in html
    assert 'data-check="segments">1<' in html


def test_the_live_check_flags_links_off_the_whitelist_and_unknown_variables(
    client_as, sms, workspace
):
    dlt_settings_set(workspace=workspace, entity_id=ENTITY, whitelisted_domains=["muzz.in"])
    body = "Track at https://muzz.in/t or bit.ly/x9 {{customer.nickname}}"
    html = check(client_as("marketing"), sms, body).content.decode()
    assert html.count('data-check="unlisted"') == 1 and "bit.ly/x9" in html
    assert "customer.nickname" in html and "Unknown variable" in html
    assert "Register on DLT as" in html and "{#var#}" in html


def test_the_live_check_without_htmx_renders_the_full_editor(client_as, sms):
    response = client_as("marketing").post(f"/templates/{sms.pk}/check/", sms_post("Hello"))
    assert response.status_code == 200 and "<html" in response.content.decode()


def test_bad_input_re_renders_with_field_errors_and_stores_nothing(client_as, sms):
    response = client_as("marketing").post(
        f"/templates/{sms.pk}/edit/",
        sms_post("Hi {{ request }}", header="muzz", dlt_template_id="12-34"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-field="header"' in html and 'data-field="dlt_template_id"' in html
    assert 'data-field="body"' in html and "request" in html
    assert TemplateVersion.objects.filter(template=sms).count() == 1


def test_bad_new_template_input_shows_errors_and_stores_nothing(client_as, sms):
    response = client_as("marketing").post(
        "/templates/new/",
        {
            "key": "order_sms",
            "name": "",
            "channel": "fax",
            "purpose": "service",
            "fallback_language": "en",
        },
    )
    assert response.status_code == 400
    assert Template.objects.count() == 1


def test_whatsapp_editor_saves_mapping_and_buttons_as_a_pending_version(client_as, workspace):
    template = template_create(
        workspace=workspace, key="dispatch", name="Dispatch", channel="whatsapp", purpose="service"
    )
    data = {
        "language": "en",
        "category": "UTILITY",
        "provider_name": "order_dispatched",
        "header_type": "none",
        "body": "Hi {{1}}, order {{2}} shipped.",
        "body_variables": "1 | customer.first_name\n2 | event.order_id | 58821",
        "footer": "Muzz",
        "buttons": "url | Track order | https://muzz.in/track\nquick_reply | Need help?",
    }
    response = client_as("operations").post(f"/templates/{template.pk}/edit/", data)
    assert response.status_code == 302
    version = template.versions.get()
    assert version.status == "pending"
    assert version.variants["en"]["body_variables"] == {
        "1": "customer.first_name",
        "2": "event.order_id",
    }
    assert [b["text"] for b in version.variants["en"]["buttons"]] == ["Track order", "Need help?"]


def test_an_editor_marks_a_whatsapp_version_approved(client_as, workspace):
    template = template_create(
        workspace=workspace, key="wa", name="WA", channel="whatsapp", purpose="service"
    )
    version = template_version_create(
        template=template,
        fields={"category": "UTILITY", "provider_name": "wa", "header_type": "none"},
        variants={"en": {"body": "Hello there"}},
    )
    response = client_as("marketing").post(
        f"/templates/{template.pk}/versions/{version.pk}/status/",
        {"status": "approved", "reason": "Meta ok"},
    )
    version.refresh_from_db()
    assert response.status_code == 302 and version.status == "approved"


def test_preview_renders_for_a_chosen_customer(client_as, sms, workspace):
    customer = Customer.objects.create(
        workspace=workspace, external_id="C9", name="Arjun Mehta", language="en"
    )
    response = client_as("support").get(
        f"/templates/{sms.pk}/preview/",
        {"customer": customer.pk, "context": '{"event": {"order_id": "4242"}}'},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Hi Arjun, order 4242 is confirmed." in html and "VM-MUZZTK-T" in html
    bad = client_as("support").get(
        f"/templates/{sms.pk}/preview/", {"context": "[1"}, HTTP_HX_REQUEST="true"
    )
    assert "Sample context" in bad.content.decode()


def test_the_customer_picker_searches_this_workspace_only(client_as, workspace, other_workspace):
    Customer.objects.create(
        workspace=workspace, external_id="A1", name="Kavya Rao", name_key="kavya rao"
    )
    Customer.objects.create(
        workspace=other_workspace, external_id="B1", name="Kavya Other", name_key="kavya other"
    )
    html = (
        client_as("marketing")
        .get("/templates/customers/", {"q": "kavya"}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "Kavya Rao" in html and "Kavya Other" not in html


def test_list_filters_by_channel(client_as, sms, workspace):
    template_create(
        workspace=workspace, key="ivr", name="Delivery call", channel="voice", purpose="service"
    )
    html = (
        client_as("viewer")
        .get("/templates/", {"channel": "voice"}, HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "Delivery call" in html and "Order confirmation" not in html


def test_settings_save_the_whitelist_and_refuse_bad_domains(client_as, workspace):
    ops = client_as("operations")
    saved = ops.post(
        "/templates/settings/",
        {"form": "dlt", "entity_id": ENTITY, "whitelisted_domains": "muzz.in\n"},
    )
    assert saved.status_code == 302
    assert workspace.dlt_settings.whitelisted_domains == ["muzz.in"]
    refused = ops.post(
        "/templates/settings/", {"form": "dlt", "entity_id": "1", "whitelisted_domains": "x y"}
    )
    assert refused.status_code == 400 and "Entity id" in refused.content.decode()
    assert client_as("viewer").get("/templates/settings/").status_code == 200
