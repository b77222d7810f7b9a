"""CSV imports: dry run with per-row reasons, apply only the good rows, background progress."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.consent import imports, tasks
from channels_app.consent.imports import import_apply_start, import_create, import_step
from channels_app.consent.selectors import consent_state, preferences_for
from channels_app.models.consent import ConsentEntry, CustomerPreference, ImportJob
from console.models import AuditEntry, Customer

CONSENT_CSV = """external_id,channel,purpose,status,source,proof,reason,at,expires_at
C1,whatsapp,promotional,granted,form,Signup form #1,,2026-01-02T10:00:00+05:30,
C2,email,promotional,granted,form,x,,,
C3,sms,promotional,granted,form,Form #3,,,
NOPE,sms,service,granted,form,p,,,
C1,sms,promotional,granted,form,,,,
C2,voice,transactional,withdrawn,support,,,,
C2,sms,promotional,withdrawn,,,Opted out in store,,
"""


@pytest.fixture
def customers(workspace):
    return {
        ext: Customer.objects.create(workspace=workspace, external_id=ext)
        for ext in ("C1", "C2", "C3")
    }


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def upload(client, kind, text, name="file.csv"):
    return client.post(
        "/consent/imports/",
        {"kind": kind, "file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")},
    )


def test_a_dry_run_reports_each_rejected_row_and_writes_nothing(client_as, customers):
    response = upload(client_as("support"), "consent", CONSENT_CSV)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/consent/imports/{job.id}/"
    assert job.state == "checked" and job.total_rows == 7
    assert (job.accepted_rows, job.rejected_rows) == (3, 4)
    reasons = {r["row"]: r["reason"] for r in job.rejections}
    assert set(reasons) == {3, 5, 6, 7}
    assert "channel" in reasons[3] and "email" in reasons[3]
    assert "no customer 'NOPE'" in reasons[5]
    assert "proof" in reasons[6]
    assert "reason" in reasons[7]
    assert not ConsentEntry.objects.exists()
    page = client_as("support").get(f"/consent/imports/{job.id}/").content.decode()
    assert "Apply 3 accepted rows" in page and 'data-row="6"' in page


def test_applying_writes_only_the_good_rows(client_as, customers):
    client = client_as("support")
    upload(client, "consent", CONSENT_CSV)
    job = ImportJob.objects.get()
    assert client.post(f"/consent/imports/{job.id}/apply/").status_code == 302
    job.refresh_from_db()
    assert job.state == "done" and job.applied_rows == 3 and job.failed_rows == 4
    c1, c2, c3 = customers["C1"], customers["C2"], customers["C3"]
    assert consent_state(customer=c1, channel="whatsapp", purpose="promotional") == "granted"
    assert consent_state(customer=c1, channel="sms", purpose="promotional") == "none"  # row 6
    assert consent_state(customer=c2, channel="sms", purpose="promotional") == "withdrawn"
    assert consent_state(customer=c2, channel="voice", purpose="transactional") == "none"  # row 7
    assert consent_state(customer=c3, channel="sms", purpose="promotional") == "granted"
    entry = ConsentEntry.objects.get(customer=c1)
    assert entry.source == "form" and entry.import_job_id == job.id
    assert entry.at.isoformat().startswith("2026-01-02T04:30")
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "consent.import.checked" in actions and "consent.import.done" in actions
    # applying twice is refused
    client.post(f"/consent/imports/{job.id}/apply/")
    assert ConsentEntry.objects.count() == 3


def test_a_bad_header_fails_the_import_with_the_columns_named(client_as, customers):
    upload(client_as("support"), "consent", "external_id,chanel,purpose\nC1,sms,service\n")
    job = ImportJob.objects.get()
    assert job.state == "failed"
    assert "missing required column(s) channel, status" in job.message
    assert "unknown column(s) chanel" in job.message


def test_a_file_that_is_not_utf8_is_explained(client_as, customers):
    client = client_as("support")
    client.post(
        "/consent/imports/",
        {
            "kind": "consent",
            "file": SimpleUploadedFile(
                "x.csv",
                "external_id,channel,purpose,status\nC1,sms,service,grânted\n".encode("latin-1"),
            ),
        },
    )
    assert "UTF-8" in ImportJob.objects.get().message


def test_customers_and_preferences_import_with_mixed_rows(client_as, workspace):
    client = client_as("admin")
    upload(
        client,
        "customers",
        "external_id,name,phone,language,whatsapp,attr.city\n"
        "N1,Asha Rao,9876543210,hi,yes,Pune\nN2,Bad Phone,12,en,no,\nN3,,,,maybe,\n",
    )
    job = ImportJob.objects.get()
    assert (job.accepted_rows, job.rejected_rows) == (1, 2)
    client.post(f"/consent/imports/{job.id}/apply/")
    asha = Customer.objects.get(external_id="N1")
    assert asha.phone == "+919876543210" and asha.attributes == {"city": "Pune"} and asha.whatsapp
    assert not Customer.objects.filter(external_id__in=["N2", "N3"]).exists()
    upload(
        client,
        "preferences",
        "external_id,preferred_channels,quiet_start,quiet_end,"
        "do_not_call,dnd,dnd_categories\nN1,whatsapp|sms,22:00,08:00,yes,yes,1|4\n"
        "N1,fax,,,,,\nN1,,,,,,\nN1,,23:00,,,,\n",
    )
    prefs_job = ImportJob.objects.order_by("-id").first()
    assert (prefs_job.accepted_rows, prefs_job.rejected_rows) == (1, 3)
    client.post(f"/consent/imports/{prefs_job.id}/apply/")
    prefs = preferences_for(asha)
    assert prefs.preferred_channels == ("whatsapp", "sms") and prefs.do_not_call
    assert prefs.dnd and prefs.dnd_blocked_categories == frozenset({1, 4})
    assert CustomerPreference.objects.count() == 1


def test_marketing_and_viewers_cannot_import_but_support_can(client_as):
    assert client_as("marketing").get("/consent/imports/").status_code == 403
    assert upload(client_as("viewer"), "consent", CONSENT_CSV).status_code == 403
    assert client_as("support").get("/consent/imports/").status_code == 200
    assert not ImportJob.objects.exists()


def test_sample_csvs_pass_their_own_header_check(client_as):
    for kind in imports.SPECS:
        response = client_as("viewer").get(f"/consent/imports/sample/{kind}.csv")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        header = response.content.decode().splitlines()[0].split(",")
        imports.header_check(kind, header)


def test_a_large_import_runs_in_steps_with_progress_and_resumes(workspace, members, monkeypatch):
    Customer.objects.bulk_create(
        [Customer(workspace=workspace, external_id=f"B{i}") for i in range(2500)]
    )
    lines = ["external_id,channel,purpose,status,proof"]
    lines += [f"B{i},sms,promotional,granted,bulk form {i}" for i in range(2500)]
    lines += ["B1,sms,promotional,granted,"]  # no proof: rejected
    body = ("\n".join(lines) + "\n").encode()
    job = import_create(
        workspace=workspace,
        kind="consent",
        upload=SimpleUploadedFile("big.csv", body),
        actor=members["support"],
    )
    queued = []
    monkeypatch.setattr(tasks, "import_enqueue", lambda job_id: queued.append(job_id))
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1000)
    # a budget of zero makes each step do one chunk, as a slow worker would
    assert import_step(job.id, budget_seconds=0) is True
    job.refresh_from_db()
    assert job.state == "checking" and job.processed_rows == 1000 and job.total_rows == 2501
    assert 0 < job.progress_percent < 100
    monkeypatch.setattr(tasks, "step_budget", lambda: 0)  # each task: one chunk, then re-queue
    tasks.import_step_task(job.id)
    assert queued == [job.id]
    while import_step(job.id, budget_seconds=None):
        pass
    job.refresh_from_db()
    assert job.state == "checked" and (job.accepted_rows, job.rejected_rows) == (2500, 1)
    import_apply_start(job=job, actor=members["support"])
    tasks.import_step_task(job.id)
    while import_step(job.id):
        pass
    job.refresh_from_db()
    assert job.state == "done" and job.applied_rows == 2500 and job.progress_percent == 100
    assert ConsentEntry.objects.filter(import_job=job).count() == 2500


def test_the_import_page_polls_while_running_and_lists_jobs(client_as, workspace, members):
    job = ImportJob.objects.create(
        workspace=workspace,
        kind="consent",
        filename="big.csv",
        stored_name="x.csv",
        total_rows=200,
        processed_rows=50,
    )
    client = client_as("support")
    progress = client.get(f"/consent/imports/{job.id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in progress and "25%" in progress
    assert "big.csv" in client.get("/consent/imports/").content.decode()


def test_an_upload_above_the_inline_size_is_queued_for_the_workers(
    client_as, customers, monkeypatch, django_capture_on_commit_callbacks
):
    from channels_app.consent import import_views

    queued = []
    monkeypatch.setattr(import_views, "INLINE_MAX_BYTES", 10)
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda path, *args: queued.append((path, args))
    )
    client = client_as("support")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "consent", CONSENT_CSV)
    job = ImportJob.objects.get()
    assert queued == [(tasks.TASK_PATH, (job.id,))]
    assert job.state == "checking"
    page = client.get(f"/consent/imports/{job.id}/").content.decode()
    assert "<progress" in page and "You can leave this page" in page
    tasks.import_step_task(job.id)  # what the worker runs
    job.refresh_from_db()
    assert job.state == "checked" and job.accepted_rows == 3
