"""Journeys, their immutable versions, runs, steps, queued run inputs, counters and engine settings.

The pure engine (journeys/engine) decides; these tables hold what it decided. A run's whole engine
state is one JSON column (``RunState.model_dump(mode="json")``); the columns beside it copy what the
workers and the console query by (status, node, wake-up time, what it waits for).
"""

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q

from console.models import Customer, Workspace, hot_parent_key

JOURNEY_STATUSES = [
    ("draft", "Draft"),
    ("live", "Live"),
    ("paused", "Paused"),
    ("archived", "Archived"),
]
RUN_STATUSES = [
    ("active", "Active"),
    ("waiting", "Waiting"),
    ("completed", "Completed"),
    ("exited", "Exited"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
OPEN_RUN_STATUSES = ("active", "waiting")


class Journey(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="journeys")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=JOURNEY_STATUSES, default="draft")
    # The draft graph in the documented format (docs/journey-format.md); the builder autosaves it
    # and bumps the revision so that two editors get a conflict instead of a silent overwrite.
    draft = models.JSONField(default=dict, blank=True)
    draft_revision = models.PositiveIntegerField(default=0)
    settings = models.JSONField(default=dict, blank=True)
    # The version number new entries go to (null until the first publication).
    current_version = models.PositiveIntegerField(null=True, blank=True)
    gallery_slug = models.CharField(max_length=64, blank=True, help_text="Seed it came from")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "status"], name="journey_ws_status")]

    def __str__(self) -> str:
        return self.name


class JourneyVersion(models.Model):
    """A published graph. Never changed after it is written; runs stay on the one they entered."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"


class Run(models.Model):
    """One customer in one journey version."""

    workspace = hot_parent_key(Workspace, related_name="+")
    # Foreign keys that lead a composite index below carry no index of their own: every run
    # update and insert pays for each index of the table.
    journey = hot_parent_key(Journey, related_name="runs", db_index=False)
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="runs")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="journey_runs", db_index=False
    )
    status = models.CharField(max_length=16, choices=RUN_STATUSES, default="active")
    node_id = models.CharField(max_length=64, blank=True)
    state = models.JSONField(default=dict)
    correlation_key = models.CharField(max_length=64, blank=True)
    correlation_value = models.CharField(max_length=200, blank=True)
    # Set while the run is open and the journey allows one active run per customer and key, so
    # the unique constraint below enforces that rule even between two racing workers.
    active_key = models.CharField(max_length=200, null=True, blank=True)
    # What enrolled it (event:<id>, segment:<job>, date:<value>): a replayed enrolment is refused.
    enrol_key = models.CharField(max_length=200)
    wake_at = models.DateTimeField(null=True, blank=True)
    # When a worker should look at the run next: its wake-up, or at once when inputs are queued.
    due_at = models.DateTimeField(null=True, blank=True)
    waiting_event = models.CharField(max_length=100, blank=True)
    waiting_correlation = models.CharField(max_length=200, blank=True)
    message_key = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300, blank=True, help_text="Last step's reason")
    holdout = models.BooleanField(default=False)
    goal_reached_at = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "customer", "active_key"], name="run_one_active_per_key"
            ),
            models.UniqueConstraint(fields=["journey", "enrol_key"], name="run_enrol_once"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(due_at__isnull=False), name="run_due"),
            models.Index(fields=["customer", "status"], name="run_customer_status"),
            models.Index(fields=["journey", "status", "node_id"], name="run_journey_node"),
            # Events find waiting runs by customer (run_customer_status), never by the event
            # name or message key they wait for, so those columns carry no index.
            models.Index(fields=["wake_at"], condition=Q(status="waiting"), name="run_wake"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RUN_STATUSES


class Step(models.Model):
    """One node executed for one run; unique on (run, node, attempt) so a replay is harmless."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps", db_index=False)
    node_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    attempt = models.PositiveIntegerField(default=1)
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField()
    port = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    notes = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        # A run's steps are found through step_once (a run has a handful, sorted in memory):
        # a second index on (run, left_at) cost every step insert and served no other query.
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id", "attempt"], name="step_once")
        ]

    def __str__(self) -> str:
        return f"{self.node_id}#{self.attempt} -> {self.port or 'end'}"


INPUT_KINDS = [
    ("event", "Event"),
    ("verdict", "Send verdict"),
    ("message", "Message outcome"),
    ("call", "Call outcome"),
    ("webhook", "Webhook result"),
]


class RunInput(models.Model):
    """An input waiting for its run's next advance (events, channel outcomes, webhook results).

    Deleted in the transaction that feeds it to the run; unique per source so a replayed event
    batch queues nothing twice. Inputs for runs of a paused journey wait here until it resumes.
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="inputs", db_index=False)
    kind = models.CharField(max_length=16, choices=INPUT_KINDS)
    source_key = models.CharField(max_length=200)
    at = models.DateTimeField()
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "source_key"], name="run_input_once")]

    def __str__(self) -> str:
        return f"{self.kind} for run {self.run_id}"


class NodeCounter(models.Model):
    """Rollup per journey version and node: ``entered``, ``left``, ``port:<name>``; per journey
    (node "") ``enrolled``, ``ended:<status>``, ``holdout:enrolled`` and ``holdout:completed``.

    Maintained in the transaction that writes the steps, so the live overlay and analytics read
    counters, never scan runs.
    """

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="counters", db_index=False
    )
    version_number = models.PositiveIntegerField()
    node_id = models.CharField(max_length=64, blank=True)
    metric = models.CharField(max_length=80)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "version_number", "node_id", "metric"], name="counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.node_id or 'journey'} {self.metric}={self.count}"


class EnrolmentJob(models.Model):
    """A segment enrolment running in the background in chunks, with its progress."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, default="running")  # running, done, cancelled
    total = models.PositiveIntegerField(default=0)
    scanned = models.PositiveIntegerField(default=0)
    enrolled = models.PositiveIntegerField(default=0)
    last_customer_id = models.BigIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"enrolment {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.scanned / self.total))


class WebhookDelivery(models.Model):
    """A webhook node's outbound call, made after commit by a task (idempotent per key)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200, unique=True)
    url = models.URLField(max_length=500)
    method = models.CharField(max_length=8)
    body = models.JSONField(default=dict)
    timeout_seconds = models.FloatField(default=10)
    status = models.CharField(max_length=16, default="pending")  # pending, ok, failed
    status_code = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.method} {self.url} ({self.status})"


class EngineSettings(models.Model):
    """Per-workspace engine settings: the clock's speed, the webhook allow-list, demo traffic."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="engine_settings"
    )
    # Journey seconds per real second (1 = real time; 600 = one real second is ten minutes).
    clock_speed = models.FloatField(default=1.0)
    clock_anchor_real = models.DateTimeField(null=True, blank=True)
    clock_anchor_journey = models.DateTimeField(null=True, blank=True)
    webhook_hosts = models.JSONField(default=list, blank=True)
    traffic_enabled = models.BooleanField(default=False)
    traffic_per_minute = models.PositiveIntegerField(default=12)
    traffic_last_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"engine settings of workspace {self.workspace_id}"
