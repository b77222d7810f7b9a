import subprocess
import sys

import pytest

from console.models import ApiKey, AuditEntry
from console.services import apikey_authenticate, apikey_digest
from tests.conftest import PASSWORD, ROOT, server_env


def test_audit_entries_cannot_be_changed_or_deleted(workspace):
    entry = AuditEntry.objects.create(
        workspace=workspace, actor_label="x", action="a", at="2026-01-01T00:00Z"
    )
    entry.summary = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_sign_in_failure_and_sign_out_are_audited(client, members):
    assert (
        client.post("/login/", {"username": "admin-acme", "password": "wrong"}).status_code == 200
    )
    assert (
        client.post("/login/", {"username": "admin-acme", "password": PASSWORD}).status_code == 302
    )
    client.post("/logout/")
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["auth.login_failed", "auth.login", "auth.logout"]


def test_api_key_is_shown_once_stored_hashed_and_revocable(client_as, api, workspace):
    admin = client_as("admin")
    page = admin.post("/settings/api-keys/", {"name": "Order service"}).content.decode()
    key = ApiKey.objects.get(name="Order service")
    secret = page.split('id="new-key">')[1].split("<")[0]
    assert secret.startswith("sgm_") and key.digest == apikey_digest(secret)
    assert secret not in admin.get("/settings/api-keys/").content.decode()  # never shown again
    assert apikey_authenticate(secret) == key
    admin.post(f"/settings/api-keys/{key.id}/revoke/")
    assert apikey_authenticate(secret) is None
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"apikey.create", "apikey.revoke"} <= actions


def test_api_key_form_names_the_missing_field(client_as):
    response = client_as("admin").post("/settings/api-keys/", {"name": ""})
    assert response.status_code == 400
    assert "Name:" in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_apikey_command_prints_only_the_key_on_its_last_line(transactional_db, workspace):
    result = subprocess.run(
        [sys.executable, "manage.py", "apikey", "create", "--workspace", "acme", "--name", "cli"],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    secret = result.stdout.strip().splitlines()[-1]
    assert apikey_authenticate(secret).name == "cli"


def test_apikey_command_names_known_workspaces_for_a_wrong_slug(transactional_db, workspace):
    result = subprocess.run(
        [sys.executable, "manage.py", "apikey", "create", "--workspace", "nope", "--name", "cli"],
        cwd=ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "Known workspaces: acme" in result.stderr
