from django.db import migrations

from console.dbstats import no_statistics


class Migration(migrations.Migration):
    """ANALYZE (autovacuum's and ``statistics_keep_up``'s) skips the payload columns."""

    dependencies = [
        ('console', '0005_hot_parent_keys'),
    ]

    operations = [
        no_statistics("console_event", "properties"),
    ]
