"""The builder's own rows: the workspace's publication rule and the publication requests."""

from django.conf import settings as django_settings
from django.db import models

from console.models import Workspace
from journeys.models import Journey, JourneyVersion

REQUEST_STATUSES = [
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("withdrawn", "Withdrawn"),
]


class BuilderSettings(models.Model):
    """Per workspace: whether publication goes through a request that operations decides."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="builder_settings"
    )
    require_approval = models.BooleanField(
        default=False,
        help_text="Marketing requests publication; someone who may publish approves or rejects",
    )

    def __str__(self) -> str:
        return f"builder settings of workspace {self.workspace_id}"


class PublishRequest(models.Model):
    """A request to publish the draft as it was at ``revision``; approving publishes that draft
    only if nobody changed it since (else the requester asks again)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="publish_requests")
    revision = models.PositiveIntegerField()
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=REQUEST_STATUSES, default="pending")
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(max_length=500, blank=True)
    version = models.ForeignKey(
        JourneyVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["journey", "status"], name="publish_request_status")]

    def __str__(self) -> str:
        return f"publish request {self.pk} ({self.status})"
