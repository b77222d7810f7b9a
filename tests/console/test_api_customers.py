import pytest

from console.models import Customer


def test_upsert_creates_with_201_then_updates_with_200(api, workspace):
    created = api.post(
        "/api/v1/customers",
        {
            "external_id": "C9",
            "name": "Karthik Iyer",
            "phone": "9876543210",
            "language": "ta",
            "whatsapp": True,
            "attributes": {"city": "Chennai"},
        },
    )
    assert created.status_code == 201
    assert created.json()["phone"] == "+919876543210"
    assert created.json()["timezone"] == "Asia/Kolkata"
    updated = api.post("/api/v1/customers", {"external_id": "C9", "attributes": {"tier": "gold"}})
    assert updated.status_code == 200
    body = updated.json()
    assert body["name"] == "Karthik Iyer"  # untouched fields kept
    assert body["attributes"] == {"city": "Chennai", "tier": "gold"}  # attributes merge
    assert Customer.objects.filter(workspace=workspace).count() == 1


def test_null_attribute_removes_the_key(api):
    api.post("/api/v1/customers", {"external_id": "C9", "attributes": {"a": 1, "b": 2}})
    body = api.post("/api/v1/customers", {"external_id": "C9", "attributes": {"a": None}}).json()
    assert body["attributes"] == {"b": 2}


@pytest.mark.parametrize(
    "field, value",
    [
        ("phone", "12"),
        ("phone", "+91 12345"),
        ("email", "nope"),
        ("language", "xx"),
        ("timezone", "Mars/Olympus"),
        ("attributes", {"bad key": 1}),
        ("whatsapp", "maybe"),
        ("external_id", ""),
    ],
)
def test_invalid_fields_are_named_and_nothing_is_stored(api, field, value):
    body = {"external_id": "C9", field: value}
    response = api.post("/api/v1/customers", body)
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert Customer.objects.count() == 0


def test_get_customer_returns_stored_fields_and_404_for_unknown(api):
    api.post("/api/v1/customers", {"external_id": "C9", "name": "A", "phone": "+919876543210"})
    assert api.get("/api/v1/customers/C9").json()["name"] == "A"
    missing = api.get("/api/v1/customers/nope")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_batch_upsert_reports_per_item_and_keeps_good_items(api):
    items = [
        {"external_id": "A", "phone": "9876543210"},
        {"external_id": "B", "phone": "123"},
        {"external_id": "A", "name": "Again"},
    ]
    body = api.post("/api/v1/customers/batch", {"customers": items}).json()
    assert [r["status"] for r in body["results"]] == ["created", "error", "updated"]
    assert "phone" in body["results"][1]["fields"]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["A"]
    assert Customer.objects.get().name == "Again"


def test_batch_over_1000_is_refused(api):
    items = [{"external_id": str(i)} for i in range(1001)]
    assert api.post("/api/v1/customers/batch", {"customers": items}).status_code == 400
    assert Customer.objects.count() == 0
