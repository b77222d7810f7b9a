"""Consent in the API: GET includes consent, preferences and DND; POST appends to the ledger."""

import pytest

from channels_app.consent.services import dnd_set, preferences_set
from channels_app.models.consent import ConsentEntry
from console.models import AuditEntry, Customer


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(workspace=workspace, external_id="C1", name="Priya Sharma")


def test_get_customer_includes_the_consent_matrix_preferences_and_dnd(api, customer):
    preferences_set(
        customer=customer,
        changes={
            "preferred_channels": ["sms", "whatsapp"],
            "quiet_start": "21:30",
            "quiet_end": "07:00",
        },
    )
    dnd_set(customer=customer, dnd=True, categories=[3])
    body = api.get("/api/v1/customers/C1").json()
    assert body["consent"]["whatsapp"]["promotional"]["status"] == "none"
    assert set(body["consent"]) == {"sms", "whatsapp", "voice"}
    assert body["preferences"]["preferred_channels"] == ["sms", "whatsapp"]
    assert body["preferences"]["quiet_hours"] == {"start": "21:30", "end": "07:00"}
    assert body["dnd"]["dnd"] is True and body["dnd"]["categories"] == [3]


def test_post_consent_appends_and_answers_the_entry_and_the_resulting_state(api, customer):
    response = api.post(
        "/api/v1/customers/C1/consent",
        {
            "channel": "whatsapp",
            "purpose": "promotional",
            "status": "granted",
            "source": "form",
            "proof": "Signup form #A-1",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["entry"]["status"] == "granted" and body["entry"]["proof"] == "Signup form #A-1"
    assert body["state"]["status"] == "granted"
    assert body["consent"]["whatsapp"]["promotional"]["status"] == "granted"
    withdrawn = api.post(
        "/api/v1/customers/C1/consent",
        {
            "channel": "whatsapp",
            "purpose": "promotional",
            "status": "withdrawn",
            "source": "api",
            "proof": "app settings toggle",
        },
    )
    assert withdrawn.status_code == 201
    assert withdrawn.json()["state"]["status"] == "withdrawn"
    assert ConsentEntry.objects.filter(customer=customer).count() == 2
    assert (
        api.get("/api/v1/customers/C1").json()["consent"]["whatsapp"]["promotional"]["status"]
        == "withdrawn"
    )
    assert AuditEntry.objects.filter(action__startswith="consent.").count() == 2
    assert AuditEntry.objects.filter(actor_label="API key tests").exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("channel", "email"),
        ("purpose", "marketing"),
        ("status", "yes"),
        ("source", "rumour"),
        ("proof", 42),
        ("expires_at", "tomorrow"),
    ],
)
def test_bad_fields_are_named_with_400_and_nothing_is_appended(api, customer, field, value):
    body = {
        "channel": "sms",
        "purpose": "promotional",
        "status": "granted",
        "source": "form",
        "proof": "x",
        field: value,
    }
    response = api.post("/api/v1/customers/C1/consent", body)
    assert response.status_code == 400
    data = response.json()
    assert data["error"] == "validation_error"
    assert field in data["fields"], data
    assert not ConsentEntry.objects.exists()


def test_missing_fields_unknown_fields_and_missing_proof_are_named(api, customer):
    missing = api.post("/api/v1/customers/C1/consent", {"channel": "sms"}).json()
    assert {"purpose", "status"} <= set(missing["fields"])
    unknown = api.post(
        "/api/v1/customers/C1/consent",
        {"channel": "sms", "purpose": "service", "status": "granted", "colour": "red"},
    )
    assert "colour" in unknown.json()["fields"]
    no_proof = api.post(
        "/api/v1/customers/C1/consent",
        {"channel": "sms", "purpose": "service", "status": "granted"},
    )
    assert no_proof.status_code == 400 and "proof" in no_proof.json()["fields"]
    assert api.post("/api/v1/customers/C1/consent", raw="{nope").status_code == 400


def test_another_workspaces_customer_is_404_for_get_and_post(api, other_workspace):
    Customer.objects.create(workspace=other_workspace, external_id="X1")
    assert api.get("/api/v1/customers/X1").status_code == 404
    response = api.post(
        "/api/v1/customers/X1/consent",
        {"channel": "sms", "purpose": "transactional", "status": "withdrawn", "source": "api"},
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert not ConsentEntry.objects.exists()


def test_consent_changes_appear_on_the_api_timeline(api, customer):
    api.post(
        "/api/v1/customers/C1/consent",
        {"channel": "voice", "purpose": "transactional", "status": "withdrawn", "source": "ivr"},
    )
    entries = api.get("/api/v1/customers/C1/timeline?kind=consent").json()["entries"]
    assert len(entries) == 1
    assert entries[0]["channel"] == "voice" and entries[0]["kind"] == "consent"
