"""Demo consent and preferences: varied, and seeding twice changes nothing."""

import random

from channels_app.consent.demo import consent_demo_seed
from channels_app.models.consent import ConsentEntry, CustomerPreference
from console.models import Customer


def test_demo_consent_is_varied_and_idempotent(workspace):
    Customer.objects.bulk_create(
        [
            Customer(workspace=workspace, external_id=f"D{i}", whatsapp=i % 4 != 0)
            for i in range(400)
        ]
    )
    consent_demo_seed(workspace, random.Random(1))
    entries = ConsentEntry.objects.filter(workspace=workspace)
    count = entries.count()
    promo = entries.filter(channel="whatsapp", purpose="promotional")
    assert promo.filter(status="granted").values("customer").distinct().count() > 150
    assert promo.filter(status="withdrawn", source="keyword").exists()
    assert entries.filter(purpose="transactional").values("customer").distinct().count() > 300
    prefs = CustomerPreference.objects.filter(workspace=workspace)
    assert 15 < prefs.filter(dnd=True).count() < 70
    assert prefs.filter(do_not_call=True).exists() and prefs.exclude(quiet_start=None).exists()
    consent_demo_seed(workspace, random.Random(1))
    assert ConsentEntry.objects.filter(workspace=workspace).count() == count
