"""Another workspace's data is never visible, in the console or over the API."""

from console.models import Customer, Event
from console.services import apikey_create


def make_customer(ws, external_id, name):
    return Customer.objects.create(
        workspace=ws,
        external_id=external_id,
        name=name,
        name_key=name.lower(),
        phone="+919812300000" if ws.slug == "acme" else "+919812300001",
    )


def test_console_lists_and_searches_only_the_users_workspace(client_as, workspace, other_workspace):
    make_customer(workspace, "A1", "Priya Ours")
    theirs = make_customer(other_workspace, "B1", "Priya Theirs")
    client = client_as("admin")
    listing = client.get("/customers/?q=priya").content.decode()
    assert "Priya Ours" in listing and "Priya Theirs" not in listing
    search = client.get("/search/?q=priya", HTTP_HX_REQUEST="true").content.decode()
    assert "Priya Ours" in search and "Priya Theirs" not in search
    assert client.get(f"/customers/{theirs.id}/").status_code == 404
    assert (
        client.post(f"/customers/{theirs.id}/attributes/", {"attributes": "{}"}).status_code == 404
    )


def test_api_key_sees_only_its_workspace(api, workspace, other_workspace):
    theirs = make_customer(other_workspace, "B1", "Theirs")
    Event.objects.create(
        workspace=other_workspace,
        customer=theirs,
        name="order.placed",
        occurred_at=theirs.created_at,
        received_at=theirs.created_at,
        idempotency_key="x",
    )
    assert api.get("/api/v1/customers/B1").status_code == 404
    assert api.get("/api/v1/customers/B1/timeline").status_code == 404
    # The same external id in our workspace is a different customer.
    assert api.post("/api/v1/customers", {"external_id": "B1", "name": "Ours"}).status_code == 201
    assert Customer.objects.get(workspace=other_workspace, external_id="B1").name == "Theirs"
    # The same event id in our workspace is not a duplicate of theirs.
    body = api.post(
        "/api/v1/events",
        {"event_id": "x", "customer": {"external_id": "B1"}, "name": "order.placed"},
    ).json()
    assert body["duplicate"] is False


def test_audit_log_shows_only_the_workspace_entries(client_as, workspace, other_workspace):
    apikey_create(workspace=other_workspace, name="their secret key name")
    apikey_create(workspace=workspace, name="our key")
    page = client_as("admin").get("/settings/audit/").content.decode()
    assert "our key" in page and "their secret key name" not in page
