"""Segment enrolment in the background (chunks with a progress record) and the date-trigger sweep.

A segment enrolment walks the workspace's customers by id in chunks; each chunk is one
transaction that moves the job's cursor together with the runs it created, so a killed worker
resumes where the last committed chunk ended and enrols nobody twice (runs are also unique per
``segment:<job>:<customer>``).
"""

from __future__ import annotations

from django.db import transaction

from channels_app.policies.inputs import batch_inputs
from console.live import live_publish
from console.models import Customer
from journeys.clock import clock_now, real_now
from journeys.engine import segment_matches
from journeys.models import EnrolmentJob
from journeys.models import JourneyVersion as VersionRow
from journeys.services.enrolment import Enrolment, live_versions, runs_enrol
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
    job row is locked): that worker carries the job on, and this one is free for other work
    instead of waiting for the cursor."""
    with transaction.atomic():
        job = (
            EnrolmentJob.objects.select_for_update(skip_locked=True)
            .select_related("journey__workspace", "version")
            .filter(pk=job_id, status="running")
            .first()
        )
        if job is None:
            return False
        journey = job.journey
        customers = list(
            Customer.objects.filter(
                workspace_id=journey.workspace_id, id__gt=job.last_customer_id
            ).order_by("id")[:chunk]
        )
        if not customers or journey.status not in ("live", "paused"):
            job.status, job.finished_at = "done", real_now()
            job.save(update_fields=["status", "finished_at"])
            live_publish(f"journey:{journey.pk}", kind="enrolment")
            return False
        now = clock_now(journey.workspace)
        graph = graph_of(job.version_id, job.version.graph)
        with batch_inputs(customers):  # the chunk's consent ledgers read once for all uses
            views = customer_views(customers, real_now())
            items = [
                Enrolment(c, f"segment:{job.pk}:{c.pk}", context=dict(c.attributes or {}))
                for c in customers
                if segment_matches(graph, views[c.pk], now=now)
            ]
            job.version.journey = journey
            result = runs_enrol(version=job.version, items=items, now=now, views=views)
        job.scanned += len(customers)
        job.enrolled += len(result.runs)
        job.last_customer_id = customers[-1].pk
        job.save(update_fields=["scanned", "enrolled", "last_customer_id"])
        live_publish(f"journey:{journey.pk}", kind="enrolment")
    return True


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
