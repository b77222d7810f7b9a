"""Demo templates: everything the seed journeys need, in English and Hindi, seeded idempotently."""

from channels_app.models import DltSettings, Template, TemplateVariable, TemplateVersion
from channels_app.tmpl.demo import DEMO_TEMPLATES, demo_templates_seed
from channels_app.tmpl.selectors import template_version_approved
from channels_app.tmpl.services import template_preview
from console import demo


def test_seeding_twice_creates_no_duplicates(workspace):
    demo_templates_seed(workspace)
    counts = (
        Template.objects.count(),
        TemplateVersion.objects.count(),
        TemplateVariable.objects.count(),
    )
    demo_templates_seed(workspace)
    assert (
        Template.objects.count(),
        TemplateVersion.objects.count(),
        TemplateVariable.objects.count(),
    ) == counts
    assert counts[0] == len(DEMO_TEMPLATES) == 8
    assert DltSettings.objects.filter(workspace=workspace).count() == 1


def test_every_demo_template_is_approved_in_english_and_hindi_and_renders(workspace):
    demo_templates_seed(workspace)
    for template in Template.objects.filter(workspace=workspace):
        version = template_version_approved(template=template)
        assert version is not None, template.key
        assert version.language_codes == ["en", "hi"]
        for language in ("en", "hi"):
            rendered = template_preview(version=version, customer=None, language=language)
            assert rendered.text and rendered.language == language


def test_demo_sms_use_realistic_dlt_ids_and_headers(workspace):
    demo_templates_seed(workspace)
    promo = Template.objects.get(key="return10_promo_sms").versions.get()
    order = Template.objects.get(key="order_confirmation_sms").versions.get()
    assert promo.fields["header"].isdigit() and order.fields["header"] == "MUZZTK"
    for version in (promo, order):
        assert len(version.fields["entity_id"]) == 19
        assert all(len(v["dlt_template_id"]) == 19 for v in version.variants.values())


def test_the_seeder_is_registered_with_the_console_demo():
    assert "channels_app.templates" in [name for name, _ in demo._SEEDERS]
