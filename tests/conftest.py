"""Shared fixtures: workspaces, a user per role, API keys, and a real daphne server."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client

from console.models import Membership, Workspace
from console.roles import ROLES, roles_sync
from console.services import apikey_create

# The live coalescer's thread must not keep a connection to a test database open past a test.
django_settings.LIVE_RELAY_KEEP_CONNECTION = False

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "test-pass-2026"


@pytest.fixture(scope="session", autouse=True)
def _sync_thread_connections_closed(django_db_setup, django_db_blocker):
    """Consumers under test reach the database through asgiref's one sync thread, whose
    connection would otherwise outlive the session and keep the test database from being
    dropped ("being accessed by other users"); close it before the database is torn down.
    Live notices still pending are written first: the coalescer's thread would otherwise flush
    them into a database already dropped (SQLite logged "disk I/O error")."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from console.live import live_flush

    with django_db_blocker.unblock():
        live_flush()

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield


@pytest.fixture
def workspace(db) -> Workspace:
    roles_sync()
    return Workspace.objects.create(slug="acme", name="Acme Retail")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(slug="other", name="Other Brand")


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Argon2 is slow on purpose; hash the shared test password once per session."""
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


@pytest.fixture
def make_member(django_user_model, password_hash):
    def make(workspace: Workspace, role: str, username: str | None = None):
        groups = roles_sync()
        user = django_user_model.objects.create(
            username=username or f"{role}-{workspace.slug}", password=password_hash
        )
        Membership.objects.create(user=user, workspace=workspace, role=groups[role])
        return user

    return make


@pytest.fixture
def members(workspace, make_member) -> dict:
    return {role: make_member(workspace, role) for role in ROLES}


@pytest.fixture
def client_as(members):
    """A logged-in test client for a role of the `workspace` fixture."""

    def login(role: str) -> Client:
        client = Client()
        client.force_login(members[role])
        return client

    return login


@pytest.fixture
def api_secret(workspace) -> str:
    _key, secret = apikey_create(workspace=workspace, name="tests")
    return secret


@pytest.fixture
def api(api_secret):
    """Django test client that sends JSON with the workspace's bearer key."""

    class Api:
        def __init__(self, secret: str):
            self.client = Client()
            self.secret = secret

        def _headers(self, extra):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
            headers.update(extra)
            return headers

        def post(self, path, data=None, *, raw=None, **extra):
            import json

            body = raw if raw is not None else json.dumps(data)
            return self.client.post(
                path, body, content_type="application/json", **self._headers(extra)
            )

        def get(self, path, **extra):
            return self.client.get(path, **self._headers(extra))

    return Api(api_secret)


# --- a real ASGI server for browser and end-to-end tests -------------------------------------


def run_async(coro):
    """Run a coroutine to completion on a fresh loop in its own thread.

    Playwright's sync API keeps a loop in the test thread, so asyncio.run() there would fail.
    """
    import asyncio
    import threading

    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def elsewhere(fn, *args, **kwargs):
    """Run ``fn`` on another thread with its own database connection (another worker writing
    while the test's own code is between two steps); returns its result."""
    import threading

    result: dict = {}

    def target():
        try:
            result["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test thread
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the other connection's work did not finish"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def spy_count(monkeypatch, owner, name: str, calls: dict, key: str, took=None) -> None:
    """Replace ``owner.name`` by a wrapper that adds to ``calls[key]`` each time a call's result
    counts: ``took(result)`` is true (by default: the result is not None)."""
    real = getattr(owner, name)
    took = took or (lambda result: result is not None)

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls[key] += took(result)
        return result

    monkeypatch.setattr(owner, name, spy)


def spy_interfere(monkeypatch, owner, name: str, calls: dict) -> None:
    """Replace ``owner.name`` by a wrapper that, once, after the real call, runs
    ``calls["interfere"]`` (when set) on another connection (``elsewhere``): another writer
    acting between a batch's preparation and its write."""
    real = getattr(owner, name)

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        if calls.get("interfere"):
            interfere, calls["interfere"] = calls["interfere"], None
            elsewhere(interfere)
        return result

    monkeypatch.setattr(owner, name, spy)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict:
    """Environment that points a child process at the test database."""
    env = dict(os.environ)
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    env["DJANGO_SETTINGS_MODULE"] = "console.settings"
    env["LIVE_RELAY_INTERVAL"] = "0.1"
    return env


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker):
    """daphne serving console.asgi on a free port, against the test database."""
    port = free_port()
    with django_db_blocker.unblock():
        env = server_env()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "console.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/login/")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
