"""Two workers on one segment enrolment job, each with its own database connection."""

import threading

import pytest
from django.db import connection, transaction

from console.live import _coalescer
from journeys.models import EnrolmentJob, Run
from journeys.services import journey_create, journey_publish
from journeys.services.segments import segment_enrolment_step
from tests.journeys.test_demo_segments_webhooks import segment_graph

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_another_worker_is_enrolling_is_skipped_on_postgresql_and_waited_for_on_sqlite(
    workspace, make_customer, clock, monkeypatch
):
    monkeypatch.setattr("journeys.tasks._async", lambda *args: None)  # no chunk task runs
    for _ in range(3):
        make_customer(city="Pune")
    journey = journey_create(workspace=workspace, name="Pune", graph=segment_graph())
    journey_publish(journey=journey)
    job = EnrolmentJob.objects.get(journey=journey)
    locked, release = threading.Event(), threading.Event()

    def other_worker():  # holds the job row as a worker enrolling a chunk does
        try:
            with transaction.atomic():
                EnrolmentJob.objects.select_for_update().get(pk=job.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=other_worker)
    holder.start()
    assert locked.wait(10)
    if connection.vendor == "postgresql":
        assert segment_enrolment_step(job.pk) is False  # skipped at once, not waited for
        assert not Run.objects.filter(journey=journey).exists()
        release.set()
        holder.join(10)
        assert segment_enrolment_step(job.pk) is True
    else:  # one writer: the step queues for the lock, then enrols
        threading.Timer(0.3, release.set).start()
        assert segment_enrolment_step(job.pk) is True
        holder.join(10)
    job.refresh_from_db()
    assert (job.scanned, job.enrolled) == (3, 3)
    assert Run.objects.filter(journey=journey).count() == 3
    _coalescer().flush()  # the live notices go out while this test may still write them
