"""CSV imports of customers, consent and preferences: check (dry run), then apply the good rows.

A job moves checking -> checked -> applying -> done (or failed). Both phases work in chunks and
save their progress with each chunk, so a worker stopped mid-file resumes where it left off and a
1M-row file is spread over several short tasks. Applying re-checks every row: a row that is bad
now (its customer was erased since the dry run) changes nothing and is reported. Each row is one
savepoint, so a failing row never leaves half its writes behind.
"""

from __future__ import annotations

import csv
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from channels_app.consent.import_rows import (
    PARSERS,
    SPECS,
    RowError,
    fields_message,
    header_check,
    sample_csv,
)
from channels_app.consent.schemas import ConsentError
from channels_app.consent.services import consent_append, dnd_set, preferences_set
from channels_app.models.consent import ImportJob
from console.audit import audit_record
from console.live import live_publish
from console.models import Customer, Workspace
from console.services import customer_upsert

CHUNK_ROWS = 1000
MAX_REJECTIONS_KEPT = 1000
__all__ = [
    "SPECS",
    "header_check",
    "sample_csv",
    "import_create",
    "import_step",
    "import_apply_start",
    "import_file_path",
]


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_file_path(job: ImportJob) -> Path:
    return imports_dir() / job.stored_name


# --- reading the file -----------------------------------------------------------------------


def _open_rows(job: ImportJob) -> Iterator[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, row) for each data row; the header is row 1."""
    with open(import_file_path(job), newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header_check(job.kind, reader.fieldnames or [])
        for number, row in enumerate(reader, start=2):
            if None in row:
                row.pop(None)
                row["__extra__"] = "yes"
            yield number, row


def _count_rows(job: ImportJob) -> int:
    return sum(1 for _ in _open_rows(job))


def _chunks(job: ImportJob, skip: int) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for index, item in enumerate(_open_rows(job)):
        if index < skip:
            continue
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _validated(job: ImportJob, chunk, customers: dict[str, Customer]):
    """(row number, parsed or None, customer or None, reason) for every row of a chunk."""
    parse = PARSERS[job.kind]
    for number, row in chunk:
        external_id = (row.get("external_id") or "").strip()
        try:
            if row.get("__extra__"):
                raise RowError("The row has more cells than the header; check for stray commas.")
            if not external_id:
                raise RowError("external_id: fill in the customer's external id.")
            parsed = parse(row)
            customer = customers.get(external_id)
            if job.kind != "customers" and customer is None:
                raise RowError(
                    f"external_id: no customer '{external_id}' in this workspace; "
                    "import customers first."
                )
            yield number, parsed, customer, ""
        except RowError as exc:
            yield number, None, None, str(exc)


def _customers_for(workspace_id: int, chunk) -> dict[str, Customer]:
    ids = {(row.get("external_id") or "").strip() for _, row in chunk}
    qs = Customer.objects.filter(workspace_id=workspace_id, external_id__in=ids - {""})
    return {c.external_id: c for c in qs.select_related("workspace")}


# --- the job --------------------------------------------------------------------------------


def import_create(*, workspace: Workspace, kind: str, upload, actor=None) -> ImportJob:
    """Store the uploaded file under VAR_DIR/imports and create a job in state "checking"."""
    stored = f"{uuid.uuid4().hex}.csv"
    path = imports_dir() / stored
    with open(path, "wb") as out:
        for part in upload.chunks():
            out.write(part)
    with transaction.atomic():
        job = ImportJob.objects.create(
            workspace=workspace,
            kind=kind,
            filename=upload.name[:255],
            stored_name=stored,
            size=path.stat().st_size,
            created_by=actor if actor is not None and actor.pk else None,
            created_by_label=actor.get_username() if actor is not None else "system",
        )
        audit_record(
            workspace=workspace,
            actor=actor,
            action="consent.import.uploaded",
            target_type="import",
            target_id=job.id,
            summary=f"Uploaded {kind} import {job.filename} for a dry run",
        )
    return job


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        state="failed", message=message[:500], finished_at=timezone.now(), updated_at=timezone.now()
    )


def import_step(job_id: int, *, budget_seconds: float | None = None) -> bool:
    """Advance a job (check or apply) by chunks until done or past the budget.

    Returns True when the job still has work (the caller enqueues another step).
    """
    job = ImportJob.objects.select_related("workspace").get(pk=job_id)
    if not job.running:
        return False
    started = time.monotonic()
    try:
        if job.total_rows == 0 and job.processed_rows == 0:
            total = _count_rows(job)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
            job.total_rows = total
        for chunk in _chunks(job, skip=job.processed_rows):
            _chunk_check(job, chunk) if job.state == "checking" else _chunk_apply(job, chunk)
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                return True
    except (RowError, UnicodeDecodeError, csv.Error, OSError) as exc:
        _fail(job, _file_problem(exc))
        live_publish(f"import:{job.pk}", state="failed")
        return False
    _phase_finish(job)
    return False


def _file_problem(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "The file is not UTF-8 text. In your spreadsheet, save it as 'CSV UTF-8'."
    if isinstance(exc, OSError):
        return "The uploaded file is no longer on the server; upload it again."
    return str(exc)


def _chunk_check(job: ImportJob, chunk) -> None:
    customers = _customers_for(job.workspace_id, chunk)
    accepted, rejections = 0, []
    for number, _parsed, _customer, reason in _validated(job, chunk, customers):
        if reason:
            rejections.append({"row": number, "reason": reason})
        else:
            accepted += 1
    _progress(job, len(chunk), accepted=accepted, rejections=rejections)


def _chunk_apply(job: ImportJob, chunk) -> None:
    customers = _customers_for(job.workspace_id, chunk)
    applied, rejections = 0, []
    with transaction.atomic():
        for number, parsed, customer, reason in _validated(job, chunk, customers):
            if not reason:
                try:
                    with transaction.atomic():  # one savepoint per row: all of it or nothing
                        _apply_row(job, parsed, customer)
                    applied += 1
                    continue
                except (ConsentError, RowError, DatabaseError) as exc:
                    reason = (
                        fields_message(exc.fields) if isinstance(exc, ConsentError) else str(exc)
                    )
            rejections.append({"row": number, "reason": reason, "phase": "apply"})
        _progress(job, len(chunk), applied=applied, rejections=rejections)


def _apply_row(job: ImportJob, parsed, customer: Customer | None) -> None:
    label = f"import #{job.pk} ({job.created_by_label})"
    if job.kind == "customers":
        customer_upsert(workspace=job.workspace, data=parsed)
    elif job.kind == "consent":
        consent_append(
            customer=customer, data=parsed, actor_label=label, import_job=job, audited=False
        )
    else:
        changes, dnd = parsed
        if changes:
            preferences_set(customer=customer, changes=changes, actor_label=label, audited=False)
        if dnd is not None:
            dnd_set(
                customer=customer,
                dnd=dnd.dnd,
                categories=dnd.categories,
                source=dnd.source,
                actor_label=label,
                audited=False,
            )


def _progress(job: ImportJob, rows: int, *, accepted: int = 0, applied: int = 0, rejections=()):
    """Save a chunk's counts (in the chunk's transaction when applying) and keep some reasons."""
    job.processed_rows += rows
    job.accepted_rows += accepted
    job.applied_rows += applied
    if job.state == "checking":
        job.rejected_rows += len(rejections)
    else:
        job.failed_rows += len(rejections)
    # Applying meets the dry run's rejected rows again; list only rows that are new.
    known = {item["row"] for item in job.rejections}
    fresh = [item for item in rejections if item["row"] not in known]
    room = MAX_REJECTIONS_KEPT - len(job.rejections)
    if room > 0 and fresh:
        job.rejections = job.rejections + fresh[:room]
    job.save(
        update_fields=[
            "processed_rows",
            "accepted_rows",
            "applied_rows",
            "rejected_rows",
            "failed_rows",
            "rejections",
            "updated_at",
        ]
    )
    live_publish(f"import:{job.pk}", state=job.state, processed=job.processed_rows)


def _phase_finish(job: ImportJob) -> None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state == "checking":
            job.state = "checked"
            summary = f"{job.accepted_rows} rows accepted, {job.rejected_rows} rejected"
        else:
            job.state = "done"
            job.finished_at = timezone.now()
            summary = f"{job.applied_rows} rows applied, {job.failed_rows} not applied"
        job.message = summary
        job.save()
        audit_record(
            workspace=job.workspace,
            actor=job.created_by,
            actor_label=job.created_by_label,
            action=f"consent.import.{job.state}",
            target_type="import",
            target_id=job.pk,
            summary=f"{job.get_kind_display()} import {job.filename}: {summary}",
        )
        live_publish(f"import:{job.pk}", state=job.state)


def import_apply_start(*, job: ImportJob, actor=None) -> ImportJob:
    """Move a checked job to applying (from its first row). Refuses a job that is not checked."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state != "checked":
            raise ValueError(
                f"This import is {job.get_state_display().lower()}; only a checked "
                "import can be applied."
            )
        if job.accepted_rows == 0:
            raise ValueError("No row was accepted in the dry run, so there is nothing to apply.")
        job.state, job.processed_rows = "applying", 0
        job.save(update_fields=["state", "processed_rows", "updated_at"])
        audit_record(
            workspace=job.workspace,
            actor=actor,
            action="consent.import.apply",
            target_type="import",
            target_id=job.pk,
            summary=f"Started applying {job.kind} import {job.filename}",
        )
    return job
