"""The outbox: one Message row per send a journey (or a person) asked for.

This is the first form of the table; the dispatcher capability extends it (provider ids, status
history, attempts). The send policy reads it to count today's sends, find echoes and learn which
channel a customer engages with.
"""

from django.db import models
from django.utils import timezone

from channels_app.policy import Decision
from console.models import Customer, Workspace

__all__ = [
    "MESSAGE_STATUSES",
    "SENT_STATUSES",
    "PENDING_STATUSES",
    "CAP_COUNTED_STATUSES",
    "Message",
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
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("read", "Read"),
    ("failed", "Failed"),
    ("undelivered", "Undelivered"),
    ("replied", "Replied"),
]
DECISION_ACTIONS = [("send", "Send"), ("defer", "Defer"), ("block", "Block")]
# Statuses of a message that left us (a later status implies the earlier ones happened).
SENT_STATUSES = ("sent", "delivered", "read", "replied")
# Waiting to leave: the dispatcher claims these when due_at has passed.
PENDING_STATUSES = ("queued", "deferred")
# Counted against frequency caps and echo: pending ones count on the day they are due, so a
# burst queued in one go cannot exceed the cap before any of it has been sent.
CAP_COUNTED_STATUSES = SENT_STATUSES + PENDING_STATUSES


class Message(models.Model):
    """One message to one customer on one channel, with the policy decision taken for it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages")
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

    @staticmethod
    def decision_fields(decision: Decision) -> dict:
        """The Message fields that store ``decision``, for create()/update()."""
        return {
            "decision_action": decision.action,
            "decision_reason": decision.reason,
            "decision_until": decision.until,
            "decision_detail": decision.detail[:300],
        }
