"""Templates: versioning, validation on save, rendering, language fallback, selectors, audit."""

from decimal import Decimal

import pytest

from channels_app.models import Template, TemplateVersion
from channels_app.tmpl.catalogue import render_values
from channels_app.tmpl.checks import sms_cost_estimate, sms_dlt_text
from channels_app.tmpl.render import TemplateRenderError
from channels_app.tmpl.selectors import template_get, template_list, template_version_approved
from channels_app.tmpl.services import (
    TemplateInvalid,
    TemplateNotApproved,
    dlt_settings_set,
    template_create,
    template_preview,
    template_render,
    template_render_for_customer,
    template_status_set,
    template_variable_create,
    template_variant_save,
    template_version_create,
)
from console.models import AuditEntry, Customer

ENTITY = "1201161234567890123"
SMS_FIELDS = {"header": "MUZZTK", "entity_id": ENTITY}


def sms_variant(body: str, template_id: str = "1207168234561000101") -> dict:
    return {"body": body, "dlt_template_id": template_id}


@pytest.fixture
def sms(workspace) -> Template:
    return template_create(
        workspace=workspace,
        key="order_sms",
        name="Order SMS",
        channel="sms",
        purpose="transactional",
    )


@pytest.fixture
def whatsapp(workspace) -> Template:
    return template_create(
        workspace=workspace, key="dispatch", name="Dispatch", channel="whatsapp", purpose="service"
    )


def wa_version(
    template: Template, body: str = "Hi {{1}}, order {{2}} shipped.", **extra
) -> TemplateVersion:
    variant = {
        "body": body,
        "body_variables": {"1": "customer.first_name", "2": "event.order_id"},
        "buttons": [{"type": "quick_reply", "text": "Need help?"}],
        **extra,
    }
    fields = {"category": "UTILITY", "provider_name": "order_dispatched", "header_type": "none"}
    return template_version_create(template=template, fields=fields, variants={"en": variant})


@pytest.fixture
def priya(workspace) -> Customer:
    return Customer.objects.create(
        workspace=workspace,
        external_id="C1",
        name="Priya Sharma",
        phone="+919876543210",
        language="hi",
    )


def test_a_new_sms_version_is_number_one_and_usable_at_once(sms):
    version = template_version_create(
        template=sms, fields=SMS_FIELDS, variants={"en": sms_variant("Hi {{customer.name}}")}
    )
    assert (version.number, version.status, version.language_codes) == (1, "approved", ["en"])


def test_editing_writes_a_new_version_and_leaves_the_old_text_alone(sms):
    first = template_version_create(
        template=sms, fields=SMS_FIELDS, variants={"en": sms_variant("Old text")}
    )
    second = template_variant_save(
        template=sms, language="en", fields=SMS_FIELDS, variant=sms_variant("New text")
    )
    first.refresh_from_db()
    assert second.number == 2
    assert first.variants["en"]["body"] == "Old text"
    assert second.variants["en"]["body"] == "New text"


def test_adding_a_language_carries_the_other_languages_over(sms):
    template_version_create(template=sms, fields=SMS_FIELDS, variants={"en": sms_variant("Hello")})
    version = template_variant_save(
        template=sms,
        language="hi",
        fields=SMS_FIELDS,
        variant=sms_variant("नमस्ते", "1207168234561000102"),
    )
    assert version.language_codes == ["en", "hi"]
    assert version.variants["en"]["body"] == "Hello"


def test_editing_an_approved_whatsapp_template_goes_back_to_pending(whatsapp):
    first = wa_version(whatsapp)
    assert first.status == "pending"
    template_status_set(version=first, status="approved", reason="Meta approved")
    fields = {"category": "UTILITY", "provider_name": "order_dispatched", "header_type": "none"}
    edited = template_variant_save(
        template=whatsapp,
        language="en",
        fields=fields,
        variant={**first.variants["en"], "body": "Hello {{1}}, order {{2}} is on its way."},
    )
    first.refresh_from_db()
    assert (first.status, edited.status, edited.number) == ("approved", "pending", 2)
    assert template_version_approved(template=whatsapp) == first


def test_unknown_variables_are_rejected_on_save_naming_them(sms):
    with pytest.raises(TemplateInvalid) as caught:
        template_version_create(
            template=sms,
            fields=SMS_FIELDS,
            variants={"en": sms_variant("Hi {{customer.nmae}} {{event.ordr}}")},
        )
    message = " ".join(caught.value.errors["en:body"])
    assert "customer.nmae" in message and "event.ordr" in message
    assert not TemplateVersion.objects.exists()


def test_unknown_whatsapp_mapping_is_rejected_naming_it(whatsapp):
    with pytest.raises(TemplateInvalid) as caught:
        wa_version(whatsapp, body_variables={"1": "customer.first_name", "2": "event.secret"})
    assert "event.secret" in " ".join(caught.value.errors["en:body_variables"])


def test_unknown_voice_prompt_variable_is_rejected(workspace):
    voice = template_create(
        workspace=workspace, key="ivr", name="IVR", channel="voice", purpose="service"
    )
    with pytest.raises(TemplateInvalid) as caught:
        template_version_create(
            template=voice,
            fields={"menu": {"1": "pay_now"}, "retries": 2},
            variants={"en": {"prompt": "Hello {{customer.balance}}"}},
        )
    assert "customer.balance" in " ".join(caught.value.errors["en:prompt"])


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{ request }}",
        "Hi {{ settings.SECRET_KEY }}",
        "{% load static %}Hi",
        "Hi {{ customer.name|upper }}",
        "Hi {{ customer.__class__ }}",
    ],
)
def test_injection_attempts_are_refused_on_save(sms, body):
    with pytest.raises(TemplateInvalid):
        template_version_create(template=sms, fields=SMS_FIELDS, variants={"en": sms_variant(body)})
    assert not TemplateVersion.objects.exists()


def test_a_refused_save_writes_no_version_and_no_audit_entry(sms):
    before = AuditEntry.objects.count()
    with pytest.raises(TemplateInvalid) as caught:
        template_version_create(
            template=sms,
            fields={"header": "muzztk", "entity_id": "12"},
            variants={"en": sms_variant("")},
        )
    assert {"header", "entity_id", "en:body"} <= set(caught.value.errors)
    assert AuditEntry.objects.count() == before
    assert not TemplateVersion.objects.exists()


def test_the_fallback_language_variant_is_required(sms):
    with pytest.raises(TemplateInvalid) as caught:
        template_version_create(
            template=sms, fields=SMS_FIELDS, variants={"hi": sms_variant("नमस्ते")}
        )
    assert "language" in caught.value.errors


def test_rendering_with_a_missing_variable_refuses_and_names_it(sms):
    version = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={
            "en": sms_variant("Hi {{customer.name}}, order {{event.order_id}} is confirmed.")
        },
    )
    with pytest.raises(TemplateRenderError) as caught:
        template_render(version=version, language="en", values={"customer": {"name": "Priya"}})
    assert caught.value.missing == ["event.order_id"]
    assert "event.order_id" in str(caught.value)


def test_a_value_of_the_wrong_type_refuses_and_names_it(sms):
    version = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={"en": sms_variant("Pay {{context.emi_amount}} today")},
    )
    with pytest.raises(TemplateRenderError) as caught:
        template_render(version=version, language="en", values={"context": {"emi_amount": "lots"}})
    assert "context.emi_amount" in str(caught.value)


def test_values_are_pasted_literally_never_evaluated(sms):
    version = template_version_create(
        template=sms, fields=SMS_FIELDS, variants={"en": sms_variant("Hi {{customer.name}}")}
    )
    rendered = template_render(
        version=version, language="en", values={"customer.name": "{{ request }}{% load static %}"}
    )
    assert rendered.text == "Hi {{ request }}{% load static %}"


def test_the_customers_language_is_used_with_fallback_to_the_template_default(sms):
    version = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={
            "en": sms_variant("Hello {{customer.name}}"),
            "hi": sms_variant("नमस्ते {{customer.name}}", "1207168234561000102"),
        },
    )
    values = {"customer": {"name": "Priya"}}
    assert template_render(version=version, language="hi", values=values).text == "नमस्ते Priya"
    tamil = template_render(version=version, language="ta", values=values)
    assert (tamil.language, tamil.text) == ("en", "Hello Priya")


def test_render_results_carry_encoding_and_segments(sms):
    version = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={
            "en": sms_variant("Order {{event.order_id}} confirmed."),
            "hi": sms_variant(
                "आपका ऑर्डर {{event.order_id}} " + "कन्फ़र्म हो गया है। " * 4, "12071682345610"
            ),
        },
    )
    values = {"event": {"order_id": "58821"}}
    english = template_render(version=version, language="en", values=values)
    hindi = template_render(version=version, language="hi", values=values)
    assert (english.encoding, english.segments, english.sender) == ("GSM-7", 1, "VM-MUZZTK-T")
    assert hindi.encoding == "UCS-2" and hindi.segments == 2
    assert english.variables == {"event.order_id": "58821"}
    assert english.dlt_template_id == "1207168234561000101" and english.entity_id == ENTITY


def test_money_in_an_english_sms_is_written_rs_so_it_stays_gsm7(sms):
    version = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={"en": sms_variant("Paid {{event.amount}}. Thanks")},
    )
    rendered = template_render(version=version, language="en", values={"event": {"amount": 123456}})
    assert rendered.text == "Paid Rs.1,23,456.00. Thanks"
    assert rendered.encoding == "GSM-7"


def test_whatsapp_render_gives_provider_parameters_in_order(whatsapp, priya):
    version = wa_version(whatsapp)
    values = render_values(customer=priya, event={"order_id": "58821"})
    rendered = template_render(version=version, language="en", values=values)
    assert rendered.text == "Hi Priya, order 58821 shipped."
    assert rendered.parameters == {"header": [], "body": ["Priya", "58821"]}
    assert rendered.buttons == ({"type": "quick_reply", "text": "Need help?"},)
    assert rendered.provider_template_name == "order_dispatched"


def test_whatsapp_promotional_template_must_be_marketing(workspace):
    promo = template_create(
        workspace=workspace, key="promo", name="Promo", channel="whatsapp", purpose="promotional"
    )
    with pytest.raises(TemplateInvalid) as caught:
        wa_version(promo)
    assert "category" in caught.value.errors


def test_the_sender_gets_only_approved_versions(whatsapp, priya):
    version = wa_version(whatsapp)
    with pytest.raises(TemplateNotApproved):
        template_render_for_customer(template=whatsapp, customer=priya, event={"order_id": "1"})
    template_status_set(version=version, status="approved")
    rendered = template_render_for_customer(
        template=whatsapp, customer=priya, event={"order_id": "1"}
    )
    assert rendered.version_id == version.pk and rendered.template_key == "dispatch"
    template_status_set(version=version, status="paused")
    assert template_version_approved(template=whatsapp) is None


def test_approved_selector_prefers_a_version_in_the_customers_language(sms):
    with_hindi = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={"en": sms_variant("Hello"), "hi": sms_variant("नमस्ते", "12071682345610")},
    )
    english_only = template_version_create(
        template=sms, fields=SMS_FIELDS, variants={"en": sms_variant("Hi")}
    )
    assert template_version_approved(template=sms, language="hi") == with_hindi
    assert template_version_approved(template=sms, language="ta") == english_only
    assert template_version_approved(template=sms) == english_only


def test_status_changes_are_audited_and_checked(whatsapp):
    version = wa_version(whatsapp)
    template_status_set(version=version, status="rejected", reason="Meta: promotional content")
    entry = AuditEntry.objects.filter(action="template.status").get()
    assert (
        "pending -> rejected" in entry.summary
        and entry.after["reason"] == "Meta: promotional content"
    )
    with pytest.raises(TemplateInvalid):
        template_status_set(version=version, status="live")


def test_preview_uses_the_customer_and_fills_the_rest_with_samples(sms, priya):
    version = template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={
            "en": sms_variant("Hi {{customer.first_name}}, order {{event.order_id}} placed.")
        },
    )
    rendered = template_preview(version=version, customer=priya, sample_context={})
    assert rendered.text == "Hi Priya, order 58821 placed."
    assert rendered.sampled == ("event.order_id",)
    given = template_preview(
        version=version, customer=priya, sample_context={"event": {"order_id": "777"}}
    )
    assert "order 777" in given.text and given.sampled == ()


def test_workspace_variables_become_usable_after_declaring_them(sms):
    body = {"en": sms_variant("See you in {{customer.attributes.city}}")}
    with pytest.raises(TemplateInvalid):
        template_version_create(template=sms, fields=SMS_FIELDS, variants=body)
    template_variable_create(
        workspace=sms.workspace, name="customer.attributes.city", type="text", sample="Pune"
    )
    version = template_version_create(template=sms, fields=SMS_FIELDS, variants=body)
    rendered = template_render(
        version=version, language="en", values={"customer": {"attributes": {"city": "Pune"}}}
    )
    assert rendered.text == "See you in Pune"


def test_bad_variable_declarations_and_dlt_settings_are_refused(workspace):
    with pytest.raises(TemplateInvalid) as caught:
        template_variable_create(workspace=workspace, name="customer.name", type="text")
    assert "already exists" in caught.value.errors["name"][0]
    with pytest.raises(TemplateInvalid) as caught:
        dlt_settings_set(
            workspace=workspace, entity_id="12ab", whitelisted_domains=["muzz.in", "not a domain"]
        )
    assert set(caught.value.errors) == {"entity_id", "whitelisted_domains"}


def test_duplicate_keys_are_refused_per_workspace_only(workspace, other_workspace, sms):
    with pytest.raises(TemplateInvalid) as caught:
        template_create(
            workspace=workspace, key="order_sms", name="Again", channel="sms", purpose="service"
        )
    assert "already exists" in caught.value.errors["key"][0]
    template_create(
        workspace=other_workspace, key="order_sms", name="Theirs", channel="sms", purpose="service"
    )


def test_another_workspaces_template_cannot_be_fetched(other_workspace, sms):
    with pytest.raises(Template.DoesNotExist):
        template_get(workspace=other_workspace, template_id=sms.pk)


def test_template_list_filters_by_channel_status_language_and_text(workspace, sms, whatsapp):
    template_version_create(
        template=sms,
        fields=SMS_FIELDS,
        variants={"en": sms_variant("Hi"), "hi": sms_variant("नमस्ते", "12")},
    )
    wa_version(whatsapp)
    assert [t.key for t in template_list(workspace=workspace, channel="sms")] == ["order_sms"]
    assert [t.key for t in template_list(workspace=workspace, status="pending")] == ["dispatch"]
    assert [t.key for t in template_list(workspace=workspace, language="hi")] == ["order_sms"]
    assert [t.key for t in template_list(workspace=workspace, search="dispat")] == ["dispatch"]


def test_cost_estimate_uses_the_workspace_cost_table_and_dlt_text_helper(workspace):
    from channels_app.policies.services import policy_update

    policy_update(workspace=workspace, data={"costs": {"sms": {"exotel": {"promotional": "0.25"}}}})
    assert sms_cost_estimate(3, workspace=workspace, category="promotional") == Decimal("0.75")
    assert (
        sms_dlt_text("Hi {{customer.name}}, order {{ event.order_id }}")
        == "Hi {#var#}, order {#var#}"
    )


def test_writes_are_audited(sms):
    template_version_create(template=sms, fields=SMS_FIELDS, variants={"en": sms_variant("Hi")})
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"template.create", "template.version"} <= actions
