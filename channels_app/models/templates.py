"""Message templates: a template per channel, immutable versions, DLT settings, typed variables.

A version holds every language variant of the template at that moment, so "which text went out"
is always one row. Channel-wide fields (SMS header and entity id, WhatsApp category and provider
name, IVR menu and retries) live in ``fields``; per-language text in ``variants``
(``{"en": {...}, "hi": {...}}``). Both JSON columns are parsed by ``channels_app.tmpl.schemas``.
"""

from django.conf import settings
from django.db import models

from console.models import Workspace

__all__ = ["DltSettings", "Template", "TemplateVariable", "TemplateVersion"]

CHANNELS = [("sms", "SMS"), ("whatsapp", "WhatsApp"), ("voice", "Voice")]
PURPOSES = [
    ("transactional", "Transactional"),
    ("service", "Service"),
    ("promotional", "Promotional"),
]
VERSION_STATUSES = [
    ("pending", "Pending approval"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("paused", "Paused"),
    ("disabled", "Disabled"),
]


class Template(models.Model):
    """One message a journey can send, e.g. "order confirmation SMS"; its text lives in versions."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="templates")
    key = models.SlugField(
        max_length=64, help_text="Stable name journeys refer to, e.g. order_confirmation"
    )
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=CHANNELS)
    purpose = models.CharField(
        max_length=16, choices=PURPOSES, help_text="Consent purpose; for SMS also the DLT category"
    )
    fallback_language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="template_key_unique")
        ]
        indexes = [models.Index(fields=["workspace", "channel"], name="template_ws_channel")]

    def __str__(self) -> str:
        return self.name


class TemplateVersion(models.Model):
    """An immutable snapshot of a template; editing writes a new version, never changes one.

    Only ``status`` changes after creation (WhatsApp approval, pausing, disabling).
    """

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=VERSION_STATUSES)
    fields = models.JSONField(default=dict)
    variants = models.JSONField(default=dict)
    # ",en,hi," so that a language filter is a plain substring match on every database.
    languages = models.CharField(max_length=100, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="template_version_number_unique"
            )
        ]
        indexes = [models.Index(fields=["template", "status", "-number"], name="tversion_status")]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"

    @property
    def language_codes(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]


class DltSettings(models.Model):
    """A workspace's DLT registration: principal entity id and the domains whitelisted for links."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="dlt_settings"
    )
    entity_id = models.CharField(max_length=19, blank=True)
    whitelisted_domains = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"DLT settings of {self.workspace_id}"


class TemplateVariable(models.Model):
    """A workspace's own typed variable beyond the built-ins, e.g. customer.attributes.city."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="template_variables"
    )
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=16)
    sample = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="template_variable_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name
