"""Segment enrolment in the background (chunks with a progress record) and the date-trigger sweep.

A segment enrolment walks the workspace's customers by id in chunks; each chunk is one
transaction that moves the job's cursor together with the runs it created, so a killed worker
resumes where the last committed chunk ended and enrols nobody twice (runs are also unique per
``segment:<job>:<customer>``).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from channels_app.policies.inputs import batch_inputs
from console.db import prepares_outside_lock
from console.dbstats import statistics_keep_up
from console.leases import lease_give_back, lease_take
from console.live import live_publish
from console.models import Customer
from journeys.clock import clock_now, real_now
from journeys.engine import segment_matches
from journeys.models import EnrolmentJob
from journeys.models import JourneyVersion as VersionRow
from journeys.services.enrolment import (
    Enrolment,
    enrol_plan_write,
    live_versions,
    runs_enrol,
    runs_enrol_plan,
)
from journeys.services.stepping import customer_views, graph_of

CHUNK = 1000


def segment_enrolment_start(*, version: VersionRow) -> EnrolmentJob:
    """Record a job for ``version``'s segment and queue its first chunk after commit."""
    from journeys.tasks import segment_chunk_enqueue

    journey = version.journey
    total = Customer.objects.filter(workspace_id=journey.workspace_id).count()
    with transaction.atomic():
        EnrolmentJob.objects.filter(journey=journey, status="running").update(status="cancelled")
        job = EnrolmentJob.objects.create(
            journey=journey, version=version, total=total, started_at=real_now()
        )
        segment_chunk_enqueue(job.pk)
    return job


def segment_enrolment_step(job_id: int, *, chunk: int = CHUNK) -> bool:
    """Enrol one chunk; returns True while customers remain (the task queues the next chunk).
    False also when another worker is enrolling a chunk of this job right now (PostgreSQL: the
    job row is locked; SQLite: its lease is held): that worker carries the job on, and this one
    is free for other work instead of waiting for the cursor.

    On SQLite, outside a transaction, the chunk is prepared before the write lock is taken
    (``_step_prepared``), so that another worker can write meanwhile."""
    statistics_keep_up()
    if prepares_outside_lock():
        return _step_prepared(job_id, chunk)
    with transaction.atomic():
        job = (
            EnrolmentJob.objects.select_for_update(skip_locked=True)
            .select_related("journey__workspace", "version")
            .filter(pk=job_id, status="running")
            .first()
        )
        if job is None:
            return False
        customers = _chunk(job, chunk)
        if not customers or job.journey.status not in ("live", "paused"):
            _finish(job)
            return False
        with batch_inputs(customers):  # the chunk's consent ledgers read once for all uses
            now, items, views = _items(job, customers)
            result = runs_enrol(version=job.version, items=items, now=now, views=views)
        _advance_cursor(job, customers, len(result.runs))
    return True


LEASE_S = 60


class _Stale(Exception):
    """A chunk prepared outside the write lock no longer fits what is stored."""


def _step_prepared(job_id: int, chunk: int) -> bool:
    """SQLite: take the job's lease (``console.leases``), read the chunk and prepare its runs,
    first advances and messages with reads only, then write them in one transaction that
    checks the lease was still held and the cursor did not move. When the preparation no
    longer fits (the runs' keys were taken meanwhile, a customer was erased), that transaction
    is rolled back and the chunk is enrolled inside the lock as on PostgreSQL. A worker killed
    while preparing wrote nothing; its lease is free once its process is gone (at the latest
    after LEASE_S)."""
    lease = f"enrolment:{job_id}"
    if not lease_take(lease, now=real_now(), seconds=LEASE_S):
        return False
    job = (
        EnrolmentJob.objects.select_related("journey__workspace", "version")
        .filter(pk=job_id, status="running")
        .first()
    )
    if job is None:
        return _write_locked(job_id, chunk)
    customers = _chunk(job, chunk)
    if not customers or job.journey.status not in ("live", "paused"):
        return _write_locked(job_id, chunk)
    with batch_inputs(customers):
        now, items, views = _items(job, customers)
        plan = runs_enrol_plan(version=job.version, items=items, now=now, views=views)
    try:
        with transaction.atomic():
            unmoved = EnrolmentJob.objects.filter(
                pk=job_id, status="running", last_customer_id=job.last_customer_id,
                journey__status__in=("live", "paused"),
            ).exists()  # fmt: skip
            result = enrol_plan_write(plan) if unmoved and lease_give_back(lease) else None
            if result is None:
                raise _Stale
            _advance_cursor(job, customers, len(result.runs))
    except (_Stale, IntegrityError):
        return _write_locked(job_id, chunk)
    return True


def _write_locked(job_id: int, chunk: int) -> bool:
    """The chunk enrolled inside the write lock, the lease given back with it."""
    with transaction.atomic():
        lease_give_back(f"enrolment:{job_id}")
        return segment_enrolment_step(job_id, chunk=chunk)


def _chunk(job: EnrolmentJob, chunk: int) -> list[Customer]:
    return list(
        Customer.objects.filter(
            workspace_id=job.journey.workspace_id, id__gt=job.last_customer_id
        ).order_by("id")[:chunk]
    )


def _items(job: EnrolmentJob, customers: list[Customer]):
    """The chunk's journey time, the customers the segment takes (as enrolments), and the
    engine's views of all of them."""
    journey = job.journey
    now = clock_now(journey.workspace)
    graph = graph_of(job.version_id, job.version.graph)
    views = customer_views(customers, real_now())
    items = [
        Enrolment(c, f"segment:{job.pk}:{c.pk}", context=dict(c.attributes or {}))
        for c in customers
        if segment_matches(graph, views[c.pk], now=now)
    ]
    job.version.journey = journey
    return now, items, views


def _finish(job: EnrolmentJob) -> None:
    job.status, job.finished_at = "done", real_now()
    job.save(update_fields=["status", "finished_at"])
    live_publish(f"journey:{job.journey_id}", kind="enrolment")


def _advance_cursor(job: EnrolmentJob, customers: list[Customer], enrolled: int) -> None:
    job.scanned += len(customers)
    job.enrolled += enrolled
    job.last_customer_id = customers[-1].pk
    job.save(update_fields=["scanned", "enrolled", "last_customer_id"])
    live_publish(f"journey:{job.journey_id}", kind="enrolment")


def date_triggers_sweep(*, workspace_ids: list[int] | None = None) -> int:
    """Enrol customers whose date attribute is set into live journeys with an attribute date
    trigger; the trigger node waits for its moment. Once per customer and date value."""
    from console.models import Workspace

    enrolled = 0
    workspaces = Workspace.objects.all()
    if workspace_ids is not None:
        workspaces = workspaces.filter(id__in=workspace_ids)
    for workspace in workspaces:
        for version in live_versions(workspace):
            graph = graph_of(version.pk, version.graph)
            node = graph.entry_node()
            if node is None or node.kind != "trigger.date":
                continue
            config = graph.config(node.id)
            if config.source == "attribute":
                enrolled += _date_enrol(workspace, version, config.name)
    return enrolled


def _date_enrol(workspace, version: VersionRow, name: str) -> int:
    enrolled, after = 0, 0
    while True:
        with transaction.atomic():
            customers = list(
                Customer.objects.filter(workspace=workspace, id__gt=after).order_by("id")[:CHUNK]
            )
            if not customers:
                return enrolled
            after = customers[-1].pk
            items = [
                Enrolment(c, f"date:{c.pk}:{c.attributes[name]}", context=dict(c.attributes))
                for c in customers
                if (c.attributes or {}).get(name) not in (None, "")
            ]
            if items:
                now = clock_now(workspace)
                enrolled += len(runs_enrol(version=version, items=items, now=now).runs)
