"""Calls (outbound voice-bot and inbound) and the IVR menus a workspace edits."""

from django.db import models
from django.utils import timezone

from console.models import Customer, Workspace

__all__ = ["Call", "CallKeyPress", "IvrMenu"]

DIRECTIONS = [("outbound", "Outbound"), ("inbound", "Inbound")]
CALL_STATUSES = [
    ("queued", "Queued"),
    ("ringing", "Ringing"),
    ("answered", "Answered"),
    ("completed", "Completed"),
    ("busy", "Busy"),
    ("no_answer", "No answer"),
    ("failed", "Failed"),
]


class Call(models.Model):
    """One call; an outbound voice-bot call also has a Message row (the outbox entry)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="calls"
    )
    message = models.OneToOneField(
        "channels_app.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="call"
    )
    direction = models.CharField(max_length=8, choices=DIRECTIONS)
    provider_kind = models.CharField(max_length=16, blank=True)
    provider_call_id = models.CharField(max_length=100, blank=True)
    from_number = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=12, choices=CALL_STATUSES, default="queued")
    keys = models.CharField(max_length=64, blank=True, help_text="Digits pressed, in order")
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    prompt = models.TextField(blank=True, help_text="What the IVR said last")
    language = models.CharField(max_length=8, blank=True)
    menu_id = models.PositiveBigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    status_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-started_at"], name="call_customer_recent"),
            models.Index(fields=["provider_call_id"], name="call_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.pk} ({self.status})"


class CallKeyPress(models.Model):
    """One key press on a call, unique per (call, sequence number) so a redelivered webhook
    does not record it twice."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="presses")
    seq = models.PositiveSmallIntegerField()
    digits = models.CharField(max_length=16)
    action = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "seq"], name="keypress_once")]

    def __str__(self) -> str:
        return f"{self.call_id}#{self.seq}: {self.digits}"


class IvrMenu(models.Model):
    """A keypad menu for inbound calls (and key actions of outbound ones), per language.

    ``actions`` maps a digit to ``{"label", "action", "template_key", "channel", "say"}``
    (parsed by ``channels_app.ivr.menus.MenuSpec``).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=64, default="inbound")
    language = models.CharField(max_length=8, default="en")
    greeting = models.CharField(max_length=500)
    actions = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "key", "language"], name="ivr_menu_key_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"
