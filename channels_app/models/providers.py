"""Provider accounts per workspace (credentials encrypted at rest), channel routing, the
simulator's settings, and the raw webhooks as received."""

from django.db import models
from django.utils import timezone

from console.models import Workspace, hot_parent_key

__all__ = [
    "BREAKER_STATES",
    "ChannelRoute",
    "ProviderAccount",
    "SimulatorSettings",
    "WebhookReceipt",
]

PROVIDER_KINDS = [
    ("simulator", "Simulator"),
    ("twilio", "Twilio"),
    ("meta", "Meta WhatsApp Cloud"),
    ("exotel", "Exotel"),
]
BREAKER_STATES = [("closed", "Healthy"), ("open", "Degraded"), ("half_open", "Retrying")]
ROUTE_CHANNELS = [("sms", "SMS"), ("whatsapp", "WhatsApp"), ("voice", "Voice")]


class ProviderAccount(models.Model):
    """One set of provider credentials. ``credentials`` is a Fernet token (see
    ``channels_app.providers_console.crypto``); ``credentials_hint`` shows masked values only."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=PROVIDER_KINDS)
    name = models.CharField(max_length=100)
    credentials = models.TextField(blank=True, help_text="Encrypted JSON")
    credentials_hint = models.JSONField(default=dict, blank=True)
    rate_limit_per_s = models.FloatField(default=10.0)
    breaker_state = models.CharField(max_length=12, choices=BREAKER_STATES, default="closed")
    consecutive_failures = models.PositiveIntegerField(default=0)
    breaker_threshold = models.PositiveIntegerField(default=5)
    retry_at = models.DateTimeField(null=True, blank=True, help_text="Half-open try after this")
    degraded_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="provider_account_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class ChannelRoute(models.Model):
    """Which account sends a channel; no route means the simulator."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=ROUTE_CHANNELS)
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="routes")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "channel"], name="channel_route_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} -> {self.account_id}"


class SimulatorSettings(models.Model):
    """The simulator's rates, delays and seed for a workspace (``SimulatorConfig`` fields)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    config = models.JSONField(default=dict, blank=True)
    secret = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"simulator of {self.workspace_id}"


class WebhookReceipt(models.Model):
    """A webhook exactly as it arrived (headers redacted), stored before it is processed.

    ``digest`` (sha256 of endpoint + body) makes a redelivery a duplicate answered 2xx.
    """

    workspace = hot_parent_key(Workspace, null=True, blank=True, related_name="+")
    provider_kind = models.CharField(max_length=16)
    account_id = models.PositiveBigIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    url = models.CharField(max_length=1000)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)
    replay_failures = models.PositiveSmallIntegerField(
        default=0, help_text="Replays that raised; at REPLAY_ATTEMPTS the receipt is given up"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider_kind", "endpoint", "digest"], name="webhook_receipt_once"
            )
        ]
        indexes = [models.Index(fields=["workspace", "-received_at"], name="webhook_ws_recent")]

    def __str__(self) -> str:
        return f"{self.provider_kind} {self.endpoint} {self.received_at:%H:%M:%S}"
