"""Role x screen matrix: each console screen opens for exactly the roles that may use it."""

import pytest

from console.models import Customer

# url name -> roles that may open it (GET)
SCREENS = {
    "/": {"admin", "marketing", "operations", "support", "viewer"},
    "/customers/": {"admin", "marketing", "operations", "support", "viewer"},
    "/customers/{customer}/": {"admin", "marketing", "operations", "support", "viewer"},
    "/search/?q=pr": {"admin", "marketing", "operations", "support", "viewer"},
    "/settings/": {"admin", "marketing", "operations", "support", "viewer"},
    "/settings/api-keys/": {"admin"},
    "/settings/members/": {"admin"},
    "/settings/audit/": {"admin", "operations", "support"},
}
ROLES = ["admin", "marketing", "operations", "support", "viewer"]


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace, external_id="C1", name="Priya", name_key="priya"
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_opens_only_for_roles_allowed(client_as, customer, role, screen):
    response = client_as(role).get(screen.format(customer=customer.id))
    expected = 200 if role in SCREENS[screen] else 403
    assert response.status_code == expected, (role, screen)


@pytest.mark.parametrize(
    "role, allowed", [(r, r in {"admin", "operations", "support"}) for r in ROLES]
)
def test_editing_attributes_is_limited_to_roles_that_may(client_as, customer, role, allowed):
    response = client_as(role).post(
        f"/customers/{customer.id}/attributes/", {"attributes": '{"city": "Pune"}'}
    )
    customer.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert customer.attributes == {"city": "Pune"}
    else:
        assert response.status_code == 403
        assert customer.attributes == {}


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_create_api_keys(client_as, workspace, role):
    response = client_as(role).post("/settings/api-keys/", {"name": "order service"})
    assert response.status_code == (200 if role == "admin" else 403)
    assert workspace.api_keys.count() == (1 if role == "admin" else 0)


def test_anonymous_visitors_are_sent_to_login(client, db):
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_without_a_workspace_is_refused(client, django_user_model, db):
    user = django_user_model.objects.create_user(username="loner", password="x-long-password")
    client.force_login(user)
    assert client.get("/customers/").status_code == 403
