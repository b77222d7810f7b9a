from django.db import migrations

from console.dbstats import no_statistics


class Migration(migrations.Migration):
    """ANALYZE (autovacuum's and ``statistics_keep_up``'s) skips the payload columns."""

    dependencies = [
        ('channels_app', '0007_hot_parent_keys'),
    ]

    operations = [
        no_statistics(
            "channels_app_message",
            "rendered_text", "spec", "variables", "decision_detail", "error_reason",
        ),
        no_statistics("channels_app_messagestatuschange", "raw", "detail"),
        no_statistics("channels_app_simulatedoutcome", "event"),
    ]
