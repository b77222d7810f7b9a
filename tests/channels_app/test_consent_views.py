"""Consent screens: the customer panel, changing consent by role, isolation, and the search."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.consent.selectors import consent_state, preferences_for
from channels_app.consent.services import consent_grant
from channels_app.models.consent import ConsentEntry
from console.models import AuditEntry, Customer

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace, external_id="C1", name="Priya Sharma", phone="+919812345678"
    )


def withdraw_body(**overrides):
    body = {
        "channel": "whatsapp",
        "purpose": "promotional",
        "status": "withdrawn",
        "reason": "Customer asked on the phone",
    }
    body.update(overrides)
    return body


def test_the_customer_page_shows_the_consent_matrix_and_history(client_as, customer):
    consent_grant(
        customer=customer,
        channel="whatsapp",
        purpose="promotional",
        source="form",
        proof="Checkout opt-in #9",
    )
    page = client_as("support").get(f"/customers/{customer.id}/").content.decode()
    assert "Consent &amp; preferences" in page
    assert 'data-channel="whatsapp"' in page and 'data-status="granted"' in page
    assert "Checkout opt-in #9" in page
    assert "Withdraw" in page and "Grant" in page


@pytest.mark.parametrize("role", ["viewer", "marketing"])
def test_viewers_and_marketing_see_consent_read_only_and_cannot_change_it(
    client_as, customer, role
):
    client = client_as(role)
    page = client.get(f"/customers/{customer.id}/").content.decode()
    assert 'id="consent-panel"' in page
    assert 'hx-get="/consent/customers/' not in page
    assert "Edit preferences" not in page
    assert (
        client.post(f"/consent/customers/{customer.id}/change/", withdraw_body()).status_code == 403
    )
    assert (
        client.get(f"/consent/customers/{customer.id}/change/form/?channel=sms").status_code == 403
    )
    assert (
        client.post(
            f"/consent/customers/{customer.id}/preferences/", {"language": "hi"}
        ).status_code
        == 403
    )
    assert client.post(f"/consent/customers/{customer.id}/dnd/", {"dnd": "on"}).status_code == 403
    assert not ConsentEntry.objects.exists()


def test_support_withdraws_with_a_reason_and_gets_the_panel_back(client_as, customer, members):
    client = client_as("support")
    form = client.get(
        f"/consent/customers/{customer.id}/change/form/"
        "?channel=whatsapp&purpose=promotional&status=withdrawn",
        **HTMX,
    )
    assert form.status_code == 200 and "Confirm withdrawal" in form.content.decode()
    response = client.post(f"/consent/customers/{customer.id}/change/", withdraw_body(), **HTMX)
    assert response.status_code == 200
    assert 'data-status="withdrawn"' in response.content.decode()
    assert (
        consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "withdrawn"
    )
    entry = ConsentEntry.objects.get()
    assert entry.source == "support" and entry.actor == members["support"]
    assert entry.reason == "Customer asked on the phone"
    assert AuditEntry.objects.filter(action="consent.withdrawn", actor=members["support"]).exists()


def test_a_change_without_a_reason_is_refused_and_names_the_field(client_as, customer):
    client = client_as("support")
    response = client.post(
        f"/consent/customers/{customer.id}/change/", withdraw_body(reason=""), **HTMX
    )
    assert response["HX-Retarget"] == "#consent-change-slot"
    assert "Give the reason" in response.content.decode()
    plain = client.post(f"/consent/customers/{customer.id}/change/", withdraw_body(reason=""))
    assert plain.status_code == 400
    assert not ConsentEntry.objects.exists()


def test_without_htmx_a_change_redirects_to_the_customer(client_as, customer):
    response = client_as("admin").post(
        f"/consent/customers/{customer.id}/change/", withdraw_body(status="granted")
    )
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.id}/"
    assert consent_state(customer=customer, channel="whatsapp", purpose="promotional") == "granted"


def test_another_workspaces_customer_is_404_everywhere(client_as, other_workspace):
    stranger = Customer.objects.create(workspace=other_workspace, external_id="X1")
    client = client_as("support")
    assert client.get(f"/consent/customers/{stranger.id}/").status_code == 404
    assert (
        client.post(f"/consent/customers/{stranger.id}/change/", withdraw_body()).status_code == 404
    )
    assert client.post(f"/consent/customers/{stranger.id}/dnd/", {"dnd": "on"}).status_code == 404
    assert not ConsentEntry.objects.exists()


def test_support_edits_preferences_and_dnd_from_the_panel(client_as, customer):
    client = client_as("support")
    response = client.post(
        f"/consent/customers/{customer.id}/preferences/",
        {
            "preferred_1": "whatsapp",
            "preferred_2": "sms",
            "language": "hi",
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "do_not_call": "on",
        },
        **HTMX,
    )
    assert response.status_code == 200 and "Preferences saved" in response.content.decode()
    client.post(
        f"/consent/customers/{customer.id}/dnd/",
        {"dnd": "on", "categories": ["1", "4"], "source": "NCPR"},
        **HTMX,
    )
    prefs = preferences_for(Customer.objects.get(pk=customer.pk))
    assert prefs.preferred_channels == ("whatsapp", "sms") and prefs.language == "hi"
    assert prefs.do_not_call and prefs.dnd and prefs.dnd_blocked_categories == frozenset({1, 4})


def test_bad_preferences_are_shown_on_the_form(client_as, customer):
    response = client_as("support").post(
        f"/consent/customers/{customer.id}/preferences/",
        {"preferred_1": "sms", "preferred_2": "sms", "language": "en"},
    )
    assert response.status_code == 400
    assert "each channel once" in response.content.decode()


def test_the_consent_search_filters_and_pages(client_as, customer, workspace):
    other = Customer.objects.create(
        workspace=workspace, external_id="C2", name="Arjun Verma", name_key="arjun verma"
    )
    now = timezone.now()
    for i in range(3):
        consent_grant(
            customer=customer,
            channel="sms",
            purpose="promotional",
            source="form",
            proof=f"p{i}",
            at=now - timedelta(days=i),
        )
    consent_grant(customer=other, channel="whatsapp", purpose="service", source="api", proof="q")
    client = client_as("viewer")
    page = client.get("/consent/?customer=C1").content.decode()
    assert page.count("<tr><td>") == 3 and "Arjun" not in page
    assert "Arjun" in client.get("/consent/?channel=whatsapp").content.decode()
    assert "Arjun" in client.get("/consent/?customer=arj").content.decode()
    assert "Priya" in client.get("/consent/?customer=9812345678").content.decode()
    assert "<tr><td>" not in client.get("/consent/?source=keyword").content.decode()
    from channels_app.consent.selectors import consent_search

    first = consent_search(workspace=workspace, limit=2)
    assert len(first.rows) == 2 and first.next_before
    rest = consent_search(workspace=workspace, limit=2, before_id=first.next_before)
    assert {r.id for r in first.rows}.isdisjoint(r.id for r in rest.rows)
    assert len(rest.rows) == 2 and rest.next_before is None
    rows = client.get(f"/consent/?before={first.next_before}", **HTMX).content.decode()
    assert rows.count("<tr><td>") == 2 and "<html" not in rows


def test_the_search_never_shows_another_workspaces_entries(client_as, other_workspace):
    stranger = Customer.objects.create(workspace=other_workspace, external_id="X1", name="Zed")
    consent_grant(customer=stranger, channel="sms", purpose="service", source="form", proof="p")
    assert "Zed" not in client_as("admin").get("/consent/").content.decode()
