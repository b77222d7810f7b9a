"""Every htmx endpoint also renders a whole page when opened directly (a link, a reload)."""

import pytest

from console.models import Customer

# Endpoints that answer htmx with a fragment; opened without htmx they must show the shell.
PAGES = [
    "/search/?q=pr",
    "/customers/?q=pr",
    "/customers/{c}/?kind=event",
    "/settings/api-keys/",
    "/settings/audit/?action=auth",
    "/templates/customers/?q=pr",
    "/templates/new/",
    "/templates/settings/",
    "/consent/?channel=sms",
    "/consent/customers/{c}/",
    "/consent/customers/{c}/change/form/?channel=sms&purpose=promotional&status=withdrawn",
    "/consent/imports/",
    "/channels/policies/",
    "/channels/policies/check/",
    "/channels/messages/?channel=sms",
    "/channels/phone/",
    "/journeys/",
    "/analytics/",
]


@pytest.mark.parametrize("path", PAGES)
def test_opened_without_htmx_the_endpoint_renders_the_whole_shell(client_as, workspace, path):
    customer = Customer.objects.create(
        workspace=workspace, external_id="A", name="Priya", name_key="priya", phone="+919812345678"
    )
    response = client_as("admin").get(path.format(c=customer.id))
    html = response.content.decode()
    assert response.status_code == 200, path
    assert '<nav class="rail"' in html and "</html>" in html, path


@pytest.mark.parametrize(
    "path", ["/customers/?q=pr", "/settings/audit/?action=auth", "/search/?q=pr"]
)
def test_with_htmx_the_same_endpoint_answers_a_fragment(client_as, workspace, path):
    Customer.objects.create(workspace=workspace, external_id="A", name="Priya", name_key="priya")
    html = client_as("admin").get(path, HTTP_HX_REQUEST="true").content.decode()
    assert '<nav class="rail"' not in html
