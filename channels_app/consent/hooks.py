"""Start-up registrations of this capability: timeline sources, customer panels, demo data."""

from channels_app.consent import api as consent_api
from channels_app.consent.demo import consent_demo_seed
from channels_app.consent.timeline import consent_timeline_entries
from channels_app.consent.views import consent_customer_panel
from console.api import CUSTOMER_SECTIONS, api
from console.consumers import topic_check_register
from console.demo import demo_seeder_register
from console.timeline import timeline_source_register
from console.views import CUSTOMER_PANELS

timeline_source_register(
    "consent", consent_timeline_entries, label="Consent", channels=("sms", "whatsapp", "voice")
)

if consent_customer_panel not in CUSTOMER_PANELS:
    CUSTOMER_PANELS.append(consent_customer_panel)

CUSTOMER_SECTIONS["consent"] = consent_api.consent_section
CUSTOMER_SECTIONS["preferences"] = consent_api.preferences_section
CUSTOMER_SECTIONS["dnd"] = consent_api.dnd_section

# Ninja keeps a router once attached; ready() runs once per process, but guard anyway.
if not getattr(consent_api.router, "api", None):
    api.add_router("/customers", consent_api.router)

demo_seeder_register("consent", consent_demo_seed)


def _import_in_workspace(workspace_id: int, ident: str) -> bool:
    from channels_app.models.consent import ImportJob

    return (
        ident.isdigit()
        and ImportJob.objects.filter(id=int(ident), workspace_id=workspace_id).exists()
    )


topic_check_register("import", _import_in_workspace)
