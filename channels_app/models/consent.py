"""The consent ledger, each customer's channel preferences and DND record, and CSV imports."""

from django.conf import settings
from django.db import models

from channels_app.consent_ledger import CHANNELS, ENTRY_STATUSES, PURPOSES, SOURCES
from console.models import Customer, Workspace

__all__ = [
    "CHANNEL_CHOICES",
    "PURPOSE_CHOICES",
    "SOURCE_CHOICES",
    "DND_CATEGORIES",
    "ConsentEntry",
    "CustomerPreference",
    "ImportJob",
]

CHANNEL_CHOICES = [
    (c, {"sms": "SMS", "whatsapp": "WhatsApp", "voice": "Voice"}[c]) for c in CHANNELS
]
PURPOSE_CHOICES = [(p, p.title()) for p in PURPOSES]
SOURCE_LABELS = {
    "form": "Web form",
    "keyword": "Keyword",
    "ivr": "IVR",
    "support": "Support staff",
    "import": "Import",
    "api": "API",
}
SOURCE_CHOICES = [(s, SOURCE_LABELS[s]) for s in SOURCES]
STATUS_CHOICES = [(s, s.title()) for s in ENTRY_STATUSES]

# NCPR preference categories (TRAI TCCCPR 2018); "fully blocked" is the dnd flag itself.
DND_CATEGORIES = {
    1: "Banking, insurance, financial products",
    2: "Real estate",
    3: "Education",
    4: "Health",
    5: "Consumer goods and automobiles",
    6: "Communication, broadcasting, entertainment, IT",
    7: "Tourism and leisure",
    8: "Food and beverages",
}


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk update/delete through the ORM would rewrite history; the ledger only grows.

    Cascades (a workspace or customer erased) still work: Django's deletion collector does not
    go through QuerySet.delete.
    """

    def update(self, **kwargs):
        raise ValueError("Consent entries are append-only: record a new entry instead.")

    def delete(self):
        raise ValueError("Consent entries are append-only and cannot be deleted.")


class ConsentEntry(models.Model):
    """One grant or withdrawal for a customer x channel x purpose. Never updated or deleted.

    The state in force is derived by channels_app.consent_ledger.consent_current (latest wins).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_entries")
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    purpose = models.CharField(max_length=16, choices=PURPOSE_CHOICES)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES)
    source = models.CharField(max_length=16, choices=SOURCE_CHOICES)
    proof = models.CharField(max_length=500, blank=True, help_text="Free text or a reference")
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    import_job = models.ForeignKey(
        "channels_app.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "channel", "purpose", "-at", "-id"], name="consent_latest"
            ),
            models.Index(fields=["workspace", "-id"], name="consent_ws_recent"),
            models.Index(
                fields=["workspace", "channel", "purpose", "status", "-id"],
                name="consent_ws_search",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.purpose} {self.status} ({self.source})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Consent entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Consent entries are append-only and cannot be deleted.")


class CustomerPreference(models.Model):
    """A customer's stated channel preferences and their DND/NCPR registration (one row each).

    The preferred language is the customer's own `language` field, kept in one place.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="preference")
    preferred_channels = models.JSONField(
        default=list, blank=True, help_text="Ordered, e.g. whatsapp, sms"
    )
    quiet_start = models.TimeField(
        null=True, blank=True, help_text="Local time the quiet hours begin"
    )
    quiet_end = models.TimeField(null=True, blank=True, help_text="Local time the quiet hours end")
    do_not_call = models.BooleanField(default=False)
    dnd = models.BooleanField(default=False, help_text="Registered on NCPR/DND")
    dnd_categories = models.JSONField(
        default=list, blank=True, help_text="NCPR categories 1-8 blocked; empty means fully blocked"
    )
    dnd_source = models.CharField(max_length=100, blank=True)
    dnd_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "dnd"], name="preference_ws_dnd")]

    def __str__(self) -> str:
        return f"Preferences of customer {self.customer_id}"


class ImportJob(models.Model):
    """One uploaded CSV: checked (dry run) first, then applied, in chunks, resumable."""

    KINDS = [("customers", "Customers"), ("consent", "Consent"), ("preferences", "Preferences")]
    STATES = [
        ("checking", "Checking"),
        ("checked", "Checked"),
        ("applying", "Applying"),
        ("done", "Done"),
        ("failed", "Failed"),
    ]

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=KINDS)
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=100, help_text="File under VAR_DIR/imports")
    size = models.PositiveBigIntegerField(default=0)
    state = models.CharField(max_length=16, choices=STATES, default="checking")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(
        default=0, help_text="Rows done in the current phase"
    )
    accepted_rows = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    applied_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(
        default=0, help_text="Rows not applied (rejected, or refused while applying)"
    )
    rejections = models.JSONField(
        default=list, blank=True, help_text="[{row, reason}], first 1,000"
    )
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-id"], name="importjob_ws_recent")]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.state in {"checked", "done", "failed"} else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))

    @property
    def running(self) -> bool:
        return self.state in {"checking", "applying"}
