"""The Policies page: who may see and edit it, field-named errors, and the "check a send" tool."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.consent.services import consent_withdraw
from channels_app.policies.selectors import policy_get
from console.models import AuditEntry, Customer

ROLES = ["admin", "marketing", "operations", "support", "viewer"]


def form_post(**overrides):
    """The editor's fields as the page posts them, with the defaults."""
    data = {
        "promotional_daily_cap": "1",
        "total_daily_cap": "3",
        "echo_window_minutes": "360",
        "ncpr_category": "",
        "send_windows.present": "1",
        "costs.present": "1",
        "send_windows.0.channel": "sms",
        "send_windows.0.purpose": "promotional",
        "send_windows.0.start": "09:00",
        "send_windows.0.end": "21:00",
        "send_windows.1.channel": "",
        "send_windows.1.purpose": "",
        "send_windows.1.start": "",
        "send_windows.1.end": "",
        "costs.sms.exotel.promotional": "0.12",
        "costs.whatsapp.meta.marketing": "0.7846",
        "costs.voice.exotel.minute": "0.6",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ROLES)
def test_every_member_can_read_the_policies_page(client_as, role):
    response = client_as(role).get("/channels/policies/")
    assert response.status_code == 200
    assert b"Check a send" in response.content
    editable = role in {"admin", "operations"}
    assert (b"Save policy" in response.content) is editable


@pytest.mark.parametrize("role", ["marketing", "support", "viewer"])
def test_roles_without_manage_policies_cannot_edit(client_as, workspace, role):
    response = client_as(role).post("/channels/policies/", form_post(promotional_daily_cap="0"))
    assert response.status_code == 403
    assert policy_get(workspace=workspace).promotional_daily_cap == 1


def test_operations_saves_the_policy_and_it_is_audited(client_as, workspace, members):
    response = client_as("operations").post(
        "/channels/policies/",
        form_post(promotional_daily_cap="2", total_daily_cap="4", ncpr_category="3"),
    )
    assert response.status_code == 200
    config = policy_get(workspace=workspace)
    assert (config.promotional_daily_cap, config.total_daily_cap, config.ncpr_category) == (2, 4, 3)
    # The blank row was dropped; the rows posted replace the old ones.
    assert [(w.channel, w.purpose) for w in config.send_windows] == [("sms", "promotional")]
    assert str(config.costs["sms"]["exotel"]["promotional"]) == "0.1200"
    entry = AuditEntry.objects.get(workspace=workspace, action="policies.update")
    assert entry.actor_label == members["operations"].username


def test_an_empty_cap_means_no_cap(client_as, workspace):
    client_as("admin").post("/channels/policies/", form_post(promotional_daily_cap=""))
    assert policy_get(workspace=workspace).promotional_daily_cap is None


def test_htmx_errors_name_the_field_and_keep_what_was_typed(client_as, workspace):
    response = client_as("operations").post(
        "/channels/policies/",
        form_post(
            total_daily_cap="0",
            **{"send_windows.0.end": "09:00", "costs.sms.exotel.promotional": "abc"},
        ),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="total_daily_cap"' in body
    assert 'data-field="send_windows.0"' in body
    assert 'data-field="costs.sms.exotel.promotional"' in body
    assert 'value="abc"' in body
    assert "<html" not in body  # only the form partial
    assert policy_get(workspace=workspace).total_daily_cap == 3
    assert not AuditEntry.objects.filter(action="policies.update").exists()


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace, external_id="C-77", name="Ravi", phone="+919812345678", whatsapp=True
    )


def test_checking_a_send_shows_the_decision_and_its_reason(client_as, customer):
    consent_withdraw(
        customer=customer,
        channel="whatsapp",
        purpose="promotional",
        source="api",
        at=timezone.now() - timedelta(days=1),
    )
    response = client_as("support").get(
        "/channels/policies/check/",
        {
            "customer": "C-77",
            "channel": "whatsapp",
            "purpose": "promotional",
            "template_status": "approved",
            "at": "2027-03-10T12:00",
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-action="block"' in body
    assert 'data-reason="no_consent:whatsapp:promotional"' in body
    assert "withdrew" in body


def test_checking_a_night_promotion_by_phone_shows_when_it_would_go(client_as, customer):
    response = client_as("viewer").get(
        "/channels/policies/check/",
        {
            "customer": "98123 45678",
            "channel": "sms",
            "purpose": "transactional",
            "at": "2027-03-10T23:00",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-action="send"' in body
    assert "Send policies" in body  # full page without htmx


def test_a_customer_of_another_workspace_cannot_be_checked(client_as, other_workspace):
    Customer.objects.create(workspace=other_workspace, external_id="X-1")
    response = client_as("support").get(
        "/channels/policies/check/", {"customer": "X-1", "channel": "sms", "purpose": "service"}
    )
    assert response.status_code == 400
    assert b"No customer" in response.content


def test_a_bad_check_names_the_field(client_as):
    response = client_as("support").get(
        "/channels/policies/check/",
        {"customer": "C-77", "channel": "fax", "purpose": "service"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert b'data-field="channel"' in response.content
