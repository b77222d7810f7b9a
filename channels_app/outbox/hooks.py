"""Start-up registrations of the outbox, webhooks and IVR: timeline sources and the periodic
sweep's schedule (created after migrate, idempotently)."""

from django.db.models.signals import post_migrate

from channels_app.outbox.timeline import call_timeline_entries, message_timeline_entries
from console.timeline import timeline_source_register

timeline_source_register(
    "message", message_timeline_entries, label="Messages", channels=("sms", "whatsapp", "voice")
)
timeline_source_register("call", call_timeline_entries, label="Calls", channels=("voice",))


def _schedule_after_migrate(sender, **kwargs) -> None:
    if getattr(sender, "label", "") != "channels_app":
        return
    from channels_app.outbox.tasks import sweep_schedule_ensure

    try:
        sweep_schedule_ensure()
    except Exception:  # noqa: BLE001  (django_q's tables may not exist yet in this migrate)
        pass


post_migrate.connect(_schedule_after_migrate, dispatch_uid="outbox_sweep_schedule")
