"""``prepared_write``: a batch worked out with reads only, written in one transaction that is
rolled back whole when the write finds its rows moved. Outside a test transaction, as the
workers call it (a refused write inside an atomic block spoils the block)."""

import pytest

from console import db
from console.db import prepared_write, prepares_outside_lock
from console.models import Customer


@pytest.fixture
def asha(transactional_db, monkeypatch):
    from console.models import Workspace

    # The mechanism itself, on either database (it is used where SQLite's gate lets it).
    monkeypatch.setattr(db, "prepares_outside_lock", lambda: True)

    workspace = Workspace.objects.create(slug="pw", name="Prepared")
    return Customer.objects.create(workspace=workspace, external_id="P1", name="Asha")


def _rename(customer, name):
    Customer.objects.filter(pk=customer.pk).update(name=name)


def test_a_prepared_batch_is_written_and_its_result_returned(asha):
    def write(names):
        _rename(asha, names[0])
        return "written"

    assert prepared_write(lambda: [f"{asha.name} Rao"], write) == "written"
    asha.refresh_from_db()
    assert asha.name == "Asha Rao"


def test_preparing_that_needs_a_write_writes_nothing_and_gives_none(asha):
    written = []

    def prepare():
        _rename(asha, "Changed while preparing")
        return ["never"]

    assert prepared_write(prepare, written.append) is None
    asha.refresh_from_db()
    assert asha.name == "Asha" and written == []


def test_nothing_prepared_gives_none_without_writing(asha):
    written = []
    assert prepared_write(lambda: None, written.append) is None
    assert written == []


def test_a_write_that_finds_its_rows_moved_is_rolled_back_whole(asha):
    def write(prepared):
        _rename(asha, "Half written")  # written before the check, undone with the rest
        return None if Customer.objects.get(pk=asha.pk).name != prepared else "written"

    assert prepared_write(lambda: "Someone else", write) is None
    asha.refresh_from_db()
    assert asha.name == "Asha"


def test_batches_are_prepared_only_on_sqlite_outside_a_transaction(transactional_db):
    from django.db import connection, transaction

    asked = []

    def prepare():
        asked.append(1)
        return "batch"

    outside = connection.vendor == "sqlite"
    assert prepares_outside_lock() is outside
    assert prepared_write(prepare, lambda batch: batch) == ("batch" if outside else None)
    with transaction.atomic():
        assert not prepares_outside_lock()
        assert prepared_write(prepare, lambda batch: batch) is None
    assert asked == ([1] if outside else [])
