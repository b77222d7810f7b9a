"""Workspaces, memberships, API keys, the audit log, customers and events."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class Workspace(models.Model):
    """A brand or business; every row in Sangam belongs to exactly one workspace."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="Asia/Kolkata")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


def hot_parent_key(parent, **options) -> models.ForeignKey:
    """A reference from a table written at engine rate (events, messages, runs, facts) to a
    parent that nearly all its new rows share (the workspace; a run's journey): no database
    constraint. PostgreSQL checks a constraint on every insert by share-locking the parent row,
    and concurrent writers holding that one row turn each check into a multixact: 12.7 s of
    the server's 38.6 s in a 10,000-customer benchmark with two workers. Deleting the parent
    still deletes these rows (Django's collector runs ``on_delete``), and every writer takes the
    id from a parent it has loaded."""
    options.setdefault("on_delete", models.CASCADE)
    return models.ForeignKey(parent, db_constraint=False, **options)


class Membership(models.Model):
    """A user's role in one workspace. The role is a Django group carrying the permissions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workspace"], name="membership_one_role_per_workspace"
            )
        ]
        permissions = [
            ("view_customers", "View customers and their timeline"),
            ("edit_customers", "Edit customer profiles and attributes"),
            ("manage_api_keys", "Create and revoke API keys"),
            ("manage_members", "Manage users and roles"),
            ("view_audit", "Browse the audit log"),
            ("manage_settings", "Change workspace settings"),
            ("edit_journeys", "Draft and edit journeys"),
            ("publish_journeys", "Publish, pause and stop journeys"),
            ("edit_templates", "Write and edit templates"),
            ("manage_consent", "Change consent and preferences"),
            ("manage_policies", "Edit send policies"),
            ("manage_channels", "Configure providers"),
            ("view_analytics", "Read analytics dashboards"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.workspace}"


class ApiKey(models.Model):
    """A bearer key for the HTTP API. Only a SHA-256 digest of the secret is stored."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="First characters, shown to tell keys apart")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEntry(models.Model):
    """Append-only record of who changed what. Never updated or deleted by the application."""

    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="Username or API key name at the time")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-at"], name="audit_ws_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit entries are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries are append-only and cannot be deleted.")


LANGUAGES = [
    ("en", "English"),
    ("hi", "Hindi"),
    ("ta", "Tamil"),
    ("te", "Telugu"),
    ("mr", "Marathi"),
    ("bn", "Bengali"),
    ("gu", "Gujarati"),
    ("kn", "Kannada"),
    ("ml", "Malayalam"),
    ("pa", "Punjabi"),
    ("or", "Odia"),
]


class Customer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="customers")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    # Lower-cased name kept for index-friendly prefix search (range scans, no LIKE).
    name_key = models.CharField(max_length=200, blank=True, editable=False)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +919812345678")
    email = models.EmailField(blank=True)
    whatsapp = models.BooleanField(default=False, help_text="Reachable on WhatsApp")
    language = models.CharField(max_length=8, choices=LANGUAGES, default="en")
    timezone = models.CharField(max_length=64, default="Asia/Kolkata")
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="customer_external_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "name_key"], name="customer_ws_name"),
            models.Index(fields=["workspace", "phone"], name="customer_ws_phone"),
            models.Index(fields=["workspace", "-id"], name="customer_ws_recent"),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class Event(models.Model):
    """Something that happened to a customer. The idempotency key makes a resend harmless."""

    SOURCES = [("api", "API"), ("channel", "Channel"), ("console", "Console"), ("demo", "Demo")]

    # Both lead composite indexes below (no index of their own: one less per event stored).
    workspace = hot_parent_key(Workspace, related_name="events", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    name = models.CharField(max_length=100)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=16, choices=SOURCES, default="api")
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"], name="event_idempotency_unique"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "-occurred_at", "-id"], name="event_customer_recent"),
            models.Index(fields=["workspace", "name", "-occurred_at"], name="event_ws_name_recent"),
            models.Index(fields=["workspace", "-occurred_at"], name="event_ws_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.idempotency_key})"


class LiveNotice(models.Model):
    """A live-update notice waiting to be relayed to WebSocket groups (embedded mode only).

    Written in the same transaction as the change it announces, so a notice exists exactly when
    the change committed; the relay in the daphne process forwards and prunes them.
    """

    group = models.CharField(max_length=120)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="livenotice_created")]

    def __str__(self) -> str:
        return self.group


class WorkLease(models.Model):
    """Who prepares a piece of shared work right now (SQLite, where a batch is prepared outside
    the one write lock): a worker takes the lease, prepares with reads only, and gives it back
    in the transaction that writes the batch. A killed worker's lease runs out at ``until``."""

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=100, blank=True, default="")
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.holder or 'free'})"
