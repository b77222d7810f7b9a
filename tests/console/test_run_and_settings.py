"""The one-command start (`manage.py run_console`, used by `make run`) and settings guards."""

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from console.settings import q_cluster_check
from tests.conftest import ROOT, free_port, server_env, wait_http


@pytest.mark.parametrize("timeout, retry", [(60, 60), (120, 30), (None, 30)])
def test_q_cluster_refuses_retry_not_above_timeout(timeout, retry):
    with pytest.raises(ImproperlyConfigured, match="retry"):
        q_cluster_check({"timeout": timeout, "retry": retry, "max_attempts": 3})


def test_q_cluster_requires_finite_attempts():
    with pytest.raises(ImproperlyConfigured, match="max_attempts"):
        q_cluster_check({"timeout": 60, "retry": 120, "max_attempts": 0})


def test_settings_module_refuses_to_load_with_a_bad_q_configuration():
    env = dict(os.environ, Q_TIMEOUT="300", Q_RETRY="200")
    result = subprocess.run(
        [sys.executable, "-c", "import console.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "retry (200s) must be greater than timeout (300s)" in result.stderr


def test_configured_cluster_is_safe(settings):
    cluster = settings.Q_CLUSTER
    assert cluster["retry"] > cluster["timeout"]
    assert cluster["max_attempts"] >= 1 and cluster["catch_up"] is False
    assert settings.CONN_MAX_AGE and settings.CONN_MAX_AGE > 0


def _settings_in(env_extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("SANGAM_PROCESS", "DATABASE_URL")}
    env.update(env_extra)
    code = (
        "import json, console.settings as s; "
        "print(json.dumps({'age': s.CONN_MAX_AGE, 'db': s.DATABASES['default']}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_web_process_closes_connections_per_request_and_pools_them_on_postgresql():
    url = "postgresql://postgres@127.0.0.1:5432/anything"
    web = _settings_in({"SANGAM_PROCESS": "web", "DATABASE_URL": url})
    assert web["age"] == 0 and web["db"]["CONN_MAX_AGE"] == 0
    assert web["db"]["OPTIONS"]["pool"]["max_size"] == 20
    worker = _settings_in({"DATABASE_URL": url})
    assert worker["age"] == 600 and "pool" not in worker["db"].get("OPTIONS", {})
    sqlite_web = _settings_in({"SANGAM_PROCESS": "web"})
    assert sqlite_web["age"] == 0 and "pool" not in sqlite_web["db"]["OPTIONS"]


def test_database_is_wal_sqlite_by_default_and_psycopg3_postgres_with_a_url(db, settings):
    from django.db import connection

    if os.environ.get("DATABASE_URL"):
        import psycopg

        assert connection.vendor == "postgresql" and psycopg.__version__.startswith("3")
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True
    ).stdout
    return bool(state.strip()) and not state.strip().startswith("Z")


def test_run_console_serves_with_workers_without_a_terminal_and_stops_cleanly(transactional_db):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_console", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=server_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/login/", timeout=40)
        assert httpx.get(f"http://127.0.0.1:{port}/login/").status_code == 200
        children = _children_of(proc.pid)
        assert len(children) == 2  # daphne and the django-q2 cluster
        descendants = children + [g for c in children for g in _children_of(c)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(descendants) < 4:  # cluster forks its workers
            time.sleep(0.5)
            descendants = children + [g for c in children for g in _children_of(c)]
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        proc.wait(timeout=40)
        time.sleep(1)
        assert [pid for pid in descendants if _alive(pid)] == []
        assert "Stopped the console and its workers" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def _django_gc(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="console.settings", **env_extra)
    code = "import django, gc; django.setup(); print(gc.get_threshold(), gc.get_freeze_count() > 0)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_every_process_collects_garbage_by_the_configured_thresholds():
    default = _django_gc({})
    assert default.stdout.split("\n")[-2] == "(50000, 20, 100) True", default.stderr
    assert _django_gc({"SANGAM_GC_THRESHOLDS": "700,10,10"}).stdout.startswith("(700, 10, 10)")
    bad = _django_gc({"SANGAM_GC_THRESHOLDS": "700,ten,10"})
    assert bad.returncode != 0 and "SANGAM_GC_THRESHOLDS must be 3 whole numbers" in bad.stderr
