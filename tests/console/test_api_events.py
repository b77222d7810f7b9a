import json

import pytest

from console.models import ApiKey, Customer, Event
from console.services import apikey_create, apikey_revoke


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace,
        external_id="C1",
        name="Priya Sharma",
        name_key="priya sharma",
        phone="+919812345678",
    )


def event(event_id="e-1", external_id="C1", **extra):
    body = {
        "event_id": event_id,
        "customer": {"external_id": external_id},
        "name": "order.placed",
        "occurred_at": "2026-12-01T10:00:00+05:30",
        "properties": {"order_id": "58821"},
    }
    body.update(extra)
    return body


def test_new_event_is_accepted_with_202_and_stored(api, customer):
    response = api.post("/api/v1/events", event())
    assert response.status_code == 202
    assert response.json()["duplicate"] is False
    stored = Event.objects.get(pk=response.json()["id"])
    assert stored.customer == customer
    assert stored.properties == {"order_id": "58821"}
    assert stored.occurred_at.isoformat() == "2026-12-01T04:30:00+00:00"


def test_same_event_id_again_answers_200_duplicate_and_stores_nothing(api, customer):
    first = api.post("/api/v1/events", event())
    second = api.post("/api/v1/events", event(properties={"changed": True}))
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "duplicate": True}
    assert Event.objects.count() == 1
    assert Event.objects.get().properties == {"order_id": "58821"}


def test_unknown_customer_with_phone_is_created_inline(api, workspace):
    response = api.post(
        "/api/v1/events",
        event(customer={"external_id": "NEW", "phone": "98123 45679", "name": "Ravi Iyer"}),
    )
    assert response.status_code == 202
    created = Customer.objects.get(workspace=workspace, external_id="NEW")
    assert created.phone == "+919812345679"
    assert created.name_key == "ravi iyer"


def test_unknown_customer_without_phone_is_refused_naming_the_field(api):
    response = api.post("/api/v1/events", event(external_id="GHOST"))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "unknown_customer"
    assert "customer.external_id" in body["fields"]
    assert Event.objects.count() == 0 and Customer.objects.count() == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": "Order Placed"}, "name"),
        ({"occurred_at": "2026-12-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"event_id": ""}, "event_id"),
        ({"properties": [1, 2]}, "properties"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_fields_answer_400_naming_each_field_and_store_nothing(api, customer, change, field):
    response = api.post("/api/v1/events", event(**change))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert field in body["fields"], body
    assert all(isinstance(m, str) and m for m in body["fields"][field])
    assert Event.objects.count() == 0


def test_invalid_inline_phone_is_named(api):
    response = api.post("/api/v1/events", event(customer={"external_id": "N", "phone": "12345"}))
    assert response.status_code == 400
    assert "customer.phone" in response.json()["fields"]
    assert Customer.objects.count() == 0


def test_malformed_json_answers_400_and_stores_nothing(api, customer):
    response = api.post("/api/v1/events", raw="{not json")
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert Event.objects.count() == 0


def test_missing_key_answers_401(api, customer):
    api.secret = None
    response = api.post("/api/v1/events", event())
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert Event.objects.count() == 0


def test_wrong_and_revoked_keys_answer_401(api, workspace, customer):
    api.secret = "sgm_not-a-real-key"
    assert api.post("/api/v1/events", event()).status_code == 401
    key, secret = apikey_create(workspace=workspace, name="old")
    apikey_revoke(key=key)
    api.secret = secret
    assert api.post("/api/v1/events", event()).status_code == 401
    assert Event.objects.count() == 0


def test_key_of_another_workspace_answers_403(api, other_workspace, customer):
    _key, secret = apikey_create(workspace=other_workspace, name="theirs")
    api.secret = secret
    response = api.post("/api/v1/events", event(), HTTP_X_WORKSPACE="acme")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_workspace"
    assert Event.objects.count() == 0


def test_key_of_another_workspace_cannot_see_this_workspaces_customer(
    api, other_workspace, customer
):
    _key, secret = apikey_create(workspace=other_workspace, name="theirs")
    api.secret = secret
    assert api.get("/api/v1/customers/C1").status_code == 404
    assert api.post("/api/v1/events", event()).status_code == 400  # unknown in their workspace


def test_body_over_the_limit_answers_413_and_stores_nothing(api, customer, settings):
    settings.API_MAX_BODY_BYTES = 2000
    response = api.post("/api/v1/events", event(properties={"blob": "x" * 3000}))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert Event.objects.count() == 0


def test_key_over_its_rate_limit_answers_429_with_retry_after(api, customer):
    ApiKey.objects.update(rate_limit_per_minute=3)
    codes = [api.post("/api/v1/events", event(event_id=f"e-{i}")).status_code for i in range(5)]
    assert codes[:3] == [202, 202, 202]
    assert codes[3:] == [429, 429]
    response = api.post("/api/v1/events", event(event_id="e-9"))
    assert response.json()["error"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60
    assert Event.objects.count() == 3


def test_last_used_time_is_recorded(api, customer):
    assert ApiKey.objects.get().last_used_at is None
    api.post("/api/v1/events", event())
    assert ApiKey.objects.get().last_used_at is not None


def test_batch_stores_good_items_reports_bad_and_duplicates(api, customer):
    api.post("/api/v1/events", event(event_id="old"))
    items = [
        event(event_id="a"),
        event(event_id="old"),
        event(event_id="b", name="BAD NAME"),
        event(event_id="a"),
        event(event_id="c", external_id="GHOST"),
    ]
    response = api.post("/api/v1/events/batch", {"events": items})
    assert response.status_code == 200
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["created", "duplicate", "error", "duplicate", "error"]
    assert body["results"][3]["id"] == body["results"][0]["id"]
    assert "name" in body["results"][2]["fields"]
    assert (body["created"], body["duplicate"], body["error"]) == (1, 2, 2)
    assert set(Event.objects.values_list("idempotency_key", flat=True)) == {"old", "a"}


def test_batch_all_or_nothing_stores_nothing_when_one_item_is_bad(api, customer):
    items = [event(event_id="a"), event(event_id="b", name="BAD NAME")]
    body = api.post("/api/v1/events/batch", {"events": items, "all_or_nothing": True}).json()
    assert [r["status"] for r in body["results"]] == ["skipped", "error"]
    assert Event.objects.count() == 0


def test_batch_over_1000_items_is_refused_whole(api, customer):
    items = [event(event_id=f"e{i}") for i in range(1001)]
    response = api.post("/api/v1/events/batch", {"events": items})
    assert response.status_code == 400
    assert "events" in response.json()["fields"]
    assert Event.objects.count() == 0


def test_batch_of_1000_is_one_transaction_worth_of_rows(
    api, customer, django_assert_max_num_queries
):
    items = [event(event_id=f"e{i}") for i in range(1000)]
    with django_assert_max_num_queries(20):
        body = api.post("/api/v1/events/batch", {"events": items}).json()
    assert body["created"] == 1000
    assert Event.objects.count() == 1000


def test_openapi_document_lists_the_endpoints(client, db):
    spec = json.loads(client.get("/api/v1/openapi.json").content)
    paths = spec["paths"]
    for path in [
        "/api/v1/events",
        "/api/v1/events/batch",
        "/api/v1/customers",
        "/api/v1/customers/batch",
        "/api/v1/customers/{external_id}",
        "/api/v1/customers/{external_id}/timeline",
    ]:
        assert path in paths
    assert client.get("/api/v1/docs").status_code == 200
