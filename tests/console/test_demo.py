from django.contrib.auth import get_user_model

from console.demo import demo_seed
from console.models import Customer, Event, Membership
from console.services import apikey_authenticate


def test_demo_seed_is_complete_and_idempotent(db, settings):
    workspace = demo_seed(customers=300)
    counts = (Customer.objects.count(), Event.objects.count(), Membership.objects.count())
    assert workspace.name == "Muzz Retail & Finance" and workspace.slug == "demo"
    assert counts[0] == 300 and counts[1] > 0
    roles = set(Membership.objects.values_list("role__name", flat=True))
    assert roles == {"admin", "marketing", "operations", "support", "viewer"}
    for role in roles:
        assert get_user_model().objects.get(username=role).check_password(settings.DEMO_PASSWORD)
    assert apikey_authenticate(settings.DEMO_API_KEY).workspace == workspace

    demo_seed(customers=300)
    assert (Customer.objects.count(), Event.objects.count(), Membership.objects.count()) == counts


def test_demo_customers_look_indian_and_varied(db):
    demo_seed(customers=400)
    customers = list(Customer.objects.all())
    assert all(
        c.phone.startswith("+91") and len(c.phone) == 13 and c.phone[3] in "6789" for c in customers
    )
    assert {c.language for c in customers} >= {"en", "hi", "ta", "mr", "bn"}
    whatsapp_share = sum(c.whatsapp for c in customers) / len(customers)
    assert 0.5 < whatsapp_share < 0.9
    assert any("loan_id" in c.attributes for c in customers)
    assert len({c.attributes["city"] for c in customers}) > 10
