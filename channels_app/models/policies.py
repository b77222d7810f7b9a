"""A workspace's send policy: allowed hours, caps, the no-echo window, costs, NCPR category.

One row per workspace, created with the defaults on first read (``policy_get``). The two JSON
columns are parsed by ``channels_app.policies.schemas.PolicyConfig``; nothing else reads them raw.
"""

from django.conf import settings
from django.db import models

from channels_app.policies.schemas import default_costs, default_send_windows
from console.models import Workspace

__all__ = ["SendPolicy"]


class SendPolicy(models.Model):
    """The guardrails every send in a workspace is checked against (see channels_app.policy)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="send_policy"
    )
    promotional_daily_cap = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=1,
        help_text="Promotional messages per customer per day; empty: no cap",
    )
    total_daily_cap = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=3,
        help_text="Non-transactional messages per customer per day",
    )
    echo_window_minutes = models.PositiveIntegerField(
        default=360, help_text="Same template family on another channel is blocked for this long"
    )
    ncpr_category = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The workspace's NCPR/DND category (1-8) for promotional traffic",
    )
    # [{"channel", "purpose", "start": "HH:MM", "end": "HH:MM"}]: local hours a channel may be used.
    send_windows = models.JSONField(default=default_send_windows, blank=True)
    # {channel: {provider: {category: "0.1200"}}}; voice's category is "minute".
    costs = models.JSONField(default=default_costs, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ncpr_category__isnull=True)
                | models.Q(ncpr_category__gte=1, ncpr_category__lte=8),
                name="sendpolicy_ncpr_category_1_8",
            )
        ]

    def __str__(self) -> str:
        return f"Send policy of {self.workspace_id}"
