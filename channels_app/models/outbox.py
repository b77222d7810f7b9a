"""The outbox: one Message row per send a journey (or a person) asked for.

The send policy reads it to count today's sends, find echoes and learn which channel a customer
engages with; the dispatcher claims pending rows, and webhooks move ``status`` forward only
(see ``channels_app.outbox.states``). ``MessageStatusChange`` keeps every status with its time and
raw provider payload; ``PendingStatus`` parks a status that arrived before its message was known;
``SimulatedOutcome`` holds the simulator's planned outcomes until they are due.
"""

from django.db import models
from django.utils import timezone

from channels_app.policy import Decision
from console.models import Customer, Workspace, hot_parent_key

__all__ = [
    "MESSAGE_STATUSES",
    "SENT_STATUSES",
    "PENDING_STATUSES",
    "CAP_COUNTED_STATUSES",
    "IN_FLIGHT_STATUSES",
    "Message",
    "MessageStatusChange",
    "PendingStatus",
    "SimulatedOutcome",
]

CHANNEL_CHOICES = [("sms", "SMS"), ("whatsapp", "WhatsApp"), ("voice", "Voice")]
PURPOSE_CHOICES = [
    ("transactional", "Transactional"),
    ("service", "Service"),
    ("promotional", "Promotional"),
]
MESSAGE_STATUSES = [
    ("queued", "Queued"),
    ("deferred", "Deferred"),
    ("blocked", "Blocked"),
    ("sending", "Sending"),
    ("unknown", "Unknown (reconciling)"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("read", "Read"),
    ("failed", "Failed"),
    ("undelivered", "Undelivered"),
    ("replied", "Replied"),
]
KINDS = [("message", "Message"), ("call", "Call")]
DECISION_ACTIONS = [("send", "Send"), ("defer", "Defer"), ("block", "Block")]
# Handed to (or maybe taken by) the provider, outcome not known yet; sent_at is the attempt time.
IN_FLIGHT_STATUSES = ("sending", "unknown")
# Statuses of a message that left us (a later status implies the earlier ones happened). The
# in-flight ones count too: a send whose answer was lost may well have gone out.
SENT_STATUSES = ("sent", "delivered", "read", "replied", *IN_FLIGHT_STATUSES)
# Waiting to leave: the dispatcher claims these when due_at has passed.
PENDING_STATUSES = ("queued", "deferred")
# Counted against frequency caps and echo: pending ones count on the day they are due, so a
# burst queued in one go cannot exceed the cap before any of it has been sent.
CAP_COUNTED_STATUSES = SENT_STATUSES + PENDING_STATUSES


class Message(models.Model):
    """One message to one customer on one channel, with the policy decision taken for it."""

    # Both lead composite indexes below (no index of their own: one less per write).
    workspace = hot_parent_key(Workspace, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    provider_kind = models.CharField(max_length=32, blank=True, help_text="simulator, twilio, ...")
    purpose = models.CharField(max_length=16, choices=PURPOSE_CHOICES)
    template_key = models.CharField(max_length=64, blank=True)
    template_family = models.CharField(
        max_length=64, blank=True, help_text="Same content across channels, for the no-echo rule"
    )
    template_version_id = models.PositiveBigIntegerField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True)
    rendered_text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=MESSAGE_STATUSES, default="queued")
    decision_action = models.CharField(max_length=8, choices=DECISION_ACTIONS, blank=True)
    decision_reason = models.CharField(max_length=64, blank=True)
    decision_until = models.DateTimeField(null=True, blank=True)
    decision_detail = models.CharField(max_length=300, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    segments = models.PositiveSmallIntegerField(default=1)
    idempotency_key = models.CharField(max_length=200)
    run_id = models.PositiveBigIntegerField(null=True, blank=True)
    node_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=8, choices=KINDS, default="message")
    to_number = models.CharField(max_length=20, blank=True)
    # What the provider needs beyond the text (DLT ids, WhatsApp template, IVR menu), parsed by
    # channels_app.outbox.spec.SendSpec; the variables are kept for IVR key actions.
    spec = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    provider_account = models.ForeignKey(
        "channels_app.ProviderAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    provider_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_reason = models.CharField(max_length=300, blank=True)
    # Explicit defaults, not auto_now_add: the engine's injected clock sets them.
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Not before; set while pending")
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"], name="message_idempotency_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s for s, _ in MESSAGE_STATUSES]),
                name="message_status_known",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="message_customer_recent"),
            models.Index(fields=["workspace", "-id"], name="message_ws_recent"),
            models.Index(fields=["provider_id"], name="message_provider_id"),
            # A run's messages: the engine's idempotency keys per batch, the rollup job, run pages.
            models.Index(fields=["run_id"], name="message_run"),
            # Reconciling: in-flight rows whose lease ran out.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status__in=IN_FLIGHT_STATUSES),
                name="message_in_flight",
            ),
            # Claiming: only pending rows are in this index, so it stays small.
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(status__in=PENDING_STATUSES),
                name="message_due_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.customer_id} ({self.status})"

    @property
    def decision(self) -> Decision | None:
        if not self.decision_action:
            return None
        return Decision(
            self.decision_action, self.decision_reason, self.decision_until, self.decision_detail
        )

    # What was sent, not how it went: outcome writers read messages without these columns.
    BODY_FIELDS = ("rendered_text", "spec", "variables")
    # The columns status outcomes read (the transition, the event's properties, the parked
    # statuses); they write others without reading them. Any other column still loads on access.
    OUTCOME_FIELDS = (
        "workspace", "customer", "channel", "provider_kind", "template_key", "status",
        "decision_reason", "idempotency_key", "run_id", "node_id", "kind", "provider_id",
        "sent_at",
    )  # fmt: skip

    @staticmethod
    def decision_fields(decision: Decision) -> dict:
        """The Message fields that store ``decision``, for create()/update()."""
        return {
            "decision_action": decision.action,
            "decision_reason": decision.reason,
            "decision_until": decision.until,
            "decision_detail": decision.detail[:300],
        }


class MessageStatusChange(models.Model):
    """One status a message reached (or was told about), once per (message, status)."""

    message = models.ForeignKey(  # leads the unique constraint below: no index of its own
        Message, on_delete=models.CASCADE, related_name="status_changes", db_index=False
    )
    status = models.CharField(max_length=24)
    at = models.DateTimeField(help_text="When the provider says it happened")
    recorded_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=32, blank=True, help_text="dispatch, webhook:twilio, ...")
    applied = models.BooleanField(default=True, help_text="False: arrived late, status kept")
    detail = models.CharField(max_length=300, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="Provider payload, secrets redacted")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "status"], name="message_status_once")
        ]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.status}"


class PendingStatus(models.Model):
    """A status webhook for a send we do not know yet (its row or provider id is not committed):
    applied when the message appears (``outbox.outcomes.pending_statuses_apply``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    provider_kind = models.CharField(max_length=32)
    provider_id = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["provider_id"], name="pendingstatus_provider_id"),
            models.Index(fields=["workspace", "reference"], name="pendingstatus_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_kind} {self.provider_id or self.reference}"


class SimulatedOutcome(models.Model):
    """One outcome the simulator planned for a send, delivered through the simulator webhook
    once ``due_at`` has passed."""

    # Never looked up by workspace (only deleted with it): no index of its own.
    workspace = hot_parent_key(Workspace, related_name="+", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    event = models.JSONField(help_text="A simulator SimEvent as on the wire")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(delivered_at__isnull=True),
                name="simoutcome_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id} at {self.due_at:%H:%M:%S}"
