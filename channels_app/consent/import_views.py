"""The Import tab of the consent page: upload, dry-run report, apply, progress."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from channels_app.consent.forms import ImportUploadForm
from channels_app.consent.imports import (
    SPECS,
    import_apply_start,
    import_create,
    import_step,
    sample_csv,
)
from channels_app.consent.tasks import import_enqueue
from channels_app.models.consent import ImportJob
from console.views import require_perm

# Files up to this size are checked and applied within the request, so a small correction file
# gets its report at once; larger ones go to the workers and the page shows live progress.
INLINE_MAX_BYTES = getattr(settings, "CONSENT_IMPORT_INLINE_MAX_BYTES", 256 * 1024)


def _can_import(request: HttpRequest, kind: str) -> bool:
    return "manage_consent" in request.perms and (
        kind != "customers" or "edit_customers" in request.perms
    )


def _run(job: ImportJob) -> None:
    if job.size <= INLINE_MAX_BYTES:
        import_step(job.pk)
    else:
        import_enqueue(job.pk)


@require_perm("manage_consent")
def imports_home(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        if not _can_import(request, kind):
            form.add_error("kind", "Your role cannot import customers; ask an admin.")
        else:
            job = import_create(
                workspace=request.workspace,
                kind=kind,
                upload=form.cleaned_data["file"],
                actor=request.user,
            )
            _run(job)
            return redirect("consent_import_detail", job_id=job.pk)
    jobs = ImportJob.objects.filter(workspace=request.workspace).order_by("-id")[:50]
    status = 400 if form.errors else 200
    return render(
        request,
        "channels_app/consent_imports.html",
        {"form": form, "jobs": jobs, "specs": SPECS},
        status=status,
    )


@require_perm("manage_consent")
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id, workspace=request.workspace)
    context = {"job": job}
    if request.htmx:
        return render(request, "channels_app/consent_import.html#progress", context)
    return render(request, "channels_app/consent_import.html", context)


@require_POST
@require_perm("manage_consent")
def import_apply(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=job_id, workspace=request.workspace)
    if not _can_import(request, job.kind):
        messages.error(request, "Your role cannot import customers; ask an admin.")
        return redirect("consent_import_detail", job_id=job.pk)
    try:
        job = import_apply_start(job=job, actor=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("consent_import_detail", job_id=job.pk)
    _run(job)
    return redirect("consent_import_detail", job_id=job.pk)


@require_perm("view_customers")
def import_sample(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in SPECS:
        raise Http404("No such import kind.")
    response = HttpResponse(sample_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sangam-{kind}-sample.csv"'
    return response
