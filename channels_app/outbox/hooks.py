"""Start-up registrations of the outbox, webhooks and IVR: timeline sources and the periodic
sweep's schedule (created after migrate, idempotently)."""

from channels_app.outbox.timeline import call_timeline_entries, message_timeline_entries
from console.schedules import schedule_register
from console.timeline import timeline_source_register

timeline_source_register(
    "message", message_timeline_entries, label="Messages", channels=("sms", "whatsapp", "voice")
)
timeline_source_register("call", call_timeline_entries, label="Calls", channels=("voice",))


schedule_register("outbox sweep", "channels_app.outbox.tasks.outbox_sweep", minutes=1)
