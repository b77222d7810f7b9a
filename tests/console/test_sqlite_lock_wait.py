"""The SQLite backend's wait for the write lock (``console.dbsqlite``): a transaction polls for
the lock instead of SQLite's busy handler's growing sleeps, gives up after ``busy_timeout`` as
before, and leaves the connection's busy_timeout as it found it. Each test uses its own
database file and connections, so it runs the same whichever database the suite is on."""

import sqlite3
import threading
import time

import pytest
from django.db import OperationalError

from console.dbsqlite.base import DatabaseWrapper


def wrapper(path, timeout_s: float) -> DatabaseWrapper:
    db = DatabaseWrapper(
        {
            "ENGINE": "console.dbsqlite", "NAME": str(path), "USER": "", "PASSWORD": "",
            "HOST": "", "PORT": "", "TIME_ZONE": None, "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
            "TEST": {},
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout_s,
                        "init_command": "PRAGMA journal_mode=WAL;"},
        },
        alias="lock_wait",
    )  # fmt: skip
    db.ensure_connection()
    return db


@pytest.fixture
def holder(tmp_path, django_db_blocker):
    """Another connection holding the database's write lock (the test's own database file,
    not the suite's: pytest-django's block is lifted for it)."""
    path = tmp_path / "lock.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (n INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    with django_db_blocker.unblock():
        yield path, other
    other.close()


def test_a_transaction_waits_for_the_write_lock_and_starts_when_it_is_released(holder):
    path, other = holder
    db = wrapper(path, timeout_s=30)
    released = threading.Event()

    def release():
        time.sleep(0.3)
        released.set()
        other.execute("COMMIT")

    threading.Thread(target=release).start()
    db._start_transaction_under_autocommit()
    assert released.is_set()  # it did not start while the other writer held the lock
    assert db.connection.execute("SELECT count(*) FROM t").fetchone() == (1,)
    db.connection.execute("INSERT INTO t VALUES (2)")
    db.connection.execute("COMMIT")
    assert db.connection.execute("PRAGMA busy_timeout").fetchone() == (30000,)
    db.close()


def test_a_transaction_gives_up_after_busy_timeout_with_the_usual_error(holder):
    path, _ = holder
    db = wrapper(path, timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        db._start_transaction_under_autocommit()
    assert time.monotonic() - started >= 0.2
    assert not db.connection.in_transaction
    assert db.connection.execute("PRAGMA busy_timeout").fetchone() == (200,)
    db.close()
