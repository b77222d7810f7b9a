"""The demo workspace "Muzz Retail & Finance": users for each role, ~2,000 customers, history.

Seeding is idempotent: running it again keeps existing data and only fills what is missing.
Apps above console add their own demo data (templates, consent, journeys) through
`demo_seeder_register`, called in order after the customers exist.
"""

import random
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from console.models import ApiKey, Customer, Event, Membership, Workspace
from console.roles import roles_sync
from console.services import apikey_create, apikey_digest

DEMO_SLUG = "demo"
DEMO_NAME = "Muzz Retail & Finance"
CUSTOMER_COUNT = 2000
SEED = 20261204

# (first names, last names, languages, cities) per region
REGIONS = [
    (
        ["Aarav", "Vivaan", "Priya", "Ananya", "Rohan", "Kavya", "Arjun", "Neha", "Rahul", "Pooja"],
        ["Sharma", "Verma", "Gupta", "Agarwal", "Singh", "Chauhan", "Yadav", "Mishra"],
        ["hi", "en"],
        ["Delhi", "Lucknow", "Jaipur", "Kanpur", "Noida", "Gurugram"],
    ),
    (
        ["Karthik", "Lakshmi", "Meenakshi", "Senthil", "Divya", "Arun", "Revathi", "Vignesh"],
        ["Iyer", "Subramanian", "Raman", "Krishnan", "Natarajan", "Pillai", "Murugan"],
        ["ta", "en"],
        ["Chennai", "Coimbatore", "Madurai", "Tiruchirappalli"],
    ),
    (
        ["Aditya", "Sneha", "Omkar", "Rutuja", "Sachin", "Pallavi", "Tejas", "Shruti"],
        ["Patil", "Deshmukh", "Joshi", "Kulkarni", "Pawar", "Shinde", "Gaikwad"],
        ["mr", "en", "hi"],
        ["Mumbai", "Pune", "Nagpur", "Nashik", "Thane"],
    ),
    (
        ["Sourav", "Ishita", "Arnab", "Moumita", "Debashish", "Rupa", "Subhajit", "Tania"],
        ["Banerjee", "Chatterjee", "Mukherjee", "Ghosh", "Das", "Bose", "Sen"],
        ["bn", "en"],
        ["Kolkata", "Howrah", "Durgapur", "Siliguri"],
    ),
    (
        ["Rajesh", "Anil", "Sunita", "Manoj", "Deepa", "Vikram", "Asha", "Suresh"],
        ["Reddy", "Rao", "Naidu", "Shetty", "Nair", "Menon", "Hegde"],
        ["en", "hi"],
        ["Bengaluru", "Hyderabad", "Kochi", "Mysuru", "Visakhapatnam"],
    ),
]

DemoSeeder = Callable[[Workspace, random.Random], None]
_SEEDERS: list[tuple[str, DemoSeeder]] = []


def demo_seeder_register(name: str, seeder: DemoSeeder) -> None:
    if all(existing != name for existing, _ in _SEEDERS):
        _SEEDERS.append((name, seeder))


def demo_seed(*, customers: int = CUSTOMER_COUNT) -> Workspace:
    """Create or complete the demo workspace. Safe to run on every start."""
    groups = roles_sync()
    with transaction.atomic():
        workspace, _ = Workspace.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": DEMO_NAME})
        _demo_users(workspace, groups)
        if not ApiKey.objects.filter(digest=apikey_digest(settings.DEMO_API_KEY)).exists():
            apikey_create(
                workspace=workspace, name="Demo key (local only)", secret=settings.DEMO_API_KEY
            )
    rng = random.Random(SEED)
    if not Customer.objects.filter(workspace=workspace).exists():
        _demo_customers(workspace, rng, customers)
        _demo_history(workspace, rng)
    for _name, seeder in _SEEDERS:
        seeder(workspace, random.Random(SEED))
    return workspace


def _demo_users(workspace: Workspace, groups: dict) -> None:
    User = get_user_model()
    for role, group in groups.items():
        user, created = User.objects.get_or_create(
            username=role, defaults={"first_name": role.title(), "email": f"{role}@muzz.example"}
        )
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": group})


def _mobile(rng: random.Random) -> str:
    return "+91" + rng.choice("6789") + "".join(rng.choice("0123456789") for _ in range(9))


def _demo_customers(workspace: Workspace, rng: random.Random, count: int) -> None:
    now = timezone.now()
    rows, phones = [], set()
    for index in range(count):
        first, last, languages, cities = rng.choice(REGIONS)
        name = f"{rng.choice(first)} {rng.choice(last)}"
        phone = _mobile(rng)
        while phone in phones:
            phone = _mobile(rng)
        phones.add(phone)
        attributes = {
            "city": rng.choice(cities),
            "lifetime_value": rng.randrange(500, 250000, 50),
            "segment": rng.choice(["new", "regular", "loyal", "lapsed"]),
        }
        if rng.random() < 0.3:
            attributes["loan_id"] = f"LN{rng.randrange(100000, 999999)}"
            attributes["emi_due_date"] = (
                (now + timedelta(days=rng.randrange(2, 30))).date().isoformat()
            )
            attributes["emi_amount"] = rng.randrange(1500, 25000, 50)
        rows.append(
            Customer(
                workspace=workspace,
                external_id=f"CUST{100001 + index}",
                name=name,
                name_key=name.lower(),
                phone=phone,
                whatsapp=rng.random() < 0.72,
                language=rng.choice(languages),
                attributes=attributes,
                email=f"{name.split()[0].lower()}.{index}@example.in" if rng.random() < 0.5 else "",
            )
        )
    Customer.objects.bulk_create(rows, batch_size=500)


def _demo_history(workspace: Workspace, rng: random.Random) -> None:
    now = timezone.now()
    customers = list(Customer.objects.filter(workspace=workspace).order_by("id")[:600])
    events = []
    for customer in customers:
        order_id = str(rng.randrange(50000, 99999))
        # Every step of the history lies in the past: delivery comes three days after the order.
        placed = now - timedelta(days=rng.randrange(4, 24), minutes=rng.randrange(0, 1440))
        steps = [("order.placed", 0), ("order.dispatched", 1), ("order.delivered", 3)]
        for name, days in steps[: rng.randrange(1, 4)]:
            events.append(
                Event(
                    workspace=workspace,
                    customer=customer,
                    name=name,
                    properties={"order_id": order_id, "amount": rng.randrange(299, 9999)},
                    occurred_at=placed + timedelta(days=days),
                    received_at=placed + timedelta(days=days),
                    source="demo",
                    idempotency_key=f"demo-{customer.external_id}-{name}-{order_id}",
                )
            )
    Event.objects.bulk_create(events, batch_size=500, ignore_conflicts=True)
