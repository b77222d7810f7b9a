"""Rollups the dashboards read, the per-source facts that keep them exact, and watermarks.

A fact row remembers what one source item (a run, a message, a customer's contacts about one key)
last contributed to the rollup cells (``contrib``). The incremental job recomputes the fact of
every item touched since its watermark and applies the difference, so replaying a chunk, or
touching an item twice, changes nothing: the rollups always equal the sum of the facts'
contributions, which is what ``rollups_rebuild`` recomputes from scratch.
"""

from django.db import models

from channels_app.models.outbox import Message
from console.models import Event, Workspace, hot_parent_key
from journeys.models import Run


class Cell(models.Model):
    """What an hourly and a daily cell share: the key around the time bucket, and the sums."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    journey_id = models.BigIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    node_id = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    metric = models.CharField(max_length=32)
    dim = models.CharField(max_length=120, blank=True)
    count = models.BigIntegerField(default=0)
    amount = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


def cell_key(when: str) -> list[str]:
    """A cell's unique key with its time bucket (``hour`` or ``day``)."""
    return ["workspace", "journey_id", "version", "node_id", "channel", when, "metric", "dim"]


class RollupCell(Cell):
    """One count and one integer sum per (workspace, journey, version, node, channel, hour,
    metric, dimension). ``journey_id`` 0 means "not from a journey"; amounts are integers
    (seconds, or money in 1/10,000 rupee) so sums are exact in any order."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=cell_key("hour"), name="rollup_cell_unique")]
        indexes = [
            models.Index(fields=["workspace", "metric", "hour"], name="rollup_ws_metric_hour"),
            models.Index(
                fields=["workspace", "journey_id", "metric", "hour"], name="rollup_journey_metric"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric}[{self.dim}]@{self.hour:%Y-%m-%d %H}={self.count}"


class DailyCell(Cell):
    """``RollupCell`` summed per day of the workspace's time zone (the day its hour starts in):
    what the dashboards' date ranges read, 24 times fewer rows than hours. Kept by the same job
    in the same transaction; ``daily_cells_rebuild`` recomputes it (after a time zone change)."""

    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=cell_key("day"), name="daily_cell_unique")]
        indexes = [
            models.Index(fields=["workspace", "metric", "day"], name="daily_ws_metric_day"),
            # Covering: a journey dashboard's one query reads this index only (3x on SQLite).
            models.Index(
                fields=[
                    "workspace",
                    "journey_id",
                    "metric",
                    "day",
                    "version",
                    "node_id",
                    "channel",
                    "dim",
                    "count",
                    "amount",
                ],
                name="daily_journey_cover",
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.metric}[{self.dim}]@{self.day}={self.count}"


class RunFact(models.Model):
    """What one run contributed, plus the flags a drill-down filters on."""

    run = models.OneToOneField(Run, primary_key=True, on_delete=models.CASCADE, related_name="+")
    workspace = hot_parent_key(Workspace, related_name="+")
    journey_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    customer_id = models.BigIntegerField()
    entered_at = models.DateTimeField()
    holdout = models.BooleanField(default=False)
    status = models.CharField(max_length=16)
    completed = models.BooleanField(default=False)
    digital = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    opted_out = models.BooleanField(default=False)
    last_node = models.CharField(max_length=64, blank=True)
    contrib = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["journey_id", "entered_at"], name="runfact_journey_entered"),
            # The opt-out drill-down: ~0.5 % of runs, found without walking the journey's runs.
            models.Index(
                fields=["journey_id", "entered_at"],
                condition=models.Q(opted_out=True),
                name="runfact_optout",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} fact"


class MessageFact(models.Model):
    message = models.OneToOneField(
        Message, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    workspace = hot_parent_key(Workspace, related_name="+")
    contrib = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"message {self.message_id} fact"


class ContactFact(models.Model):
    """One contact signal read from an event, attributed to a correlation key (and the run's
    journey, version and group) when it was first read."""

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    workspace = hot_parent_key(Workspace, related_name="+")
    customer_id = models.BigIntegerField()
    kind = models.CharField(max_length=16)  # call, message, advisor, agent
    channel = models.CharField(max_length=16, blank=True)
    key = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    journey_id = models.BigIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    group = models.CharField(max_length=16, default="none")

    class Meta:
        indexes = [models.Index(fields=["customer_id", "at"], name="contactfact_customer_at")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.customer_id} about {self.key or '-'}"


class ContactGroupFact(models.Model):
    """The contact episodes of one customer about one key, as last contributed."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    customer_id = models.BigIntegerField()
    key = models.CharField(max_length=200, blank=True)
    contrib = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "customer_id", "key"], name="contactgroup_unique"
            )
        ]

    def __str__(self) -> str:
        return f"contacts of {self.customer_id} about {self.key or '-'}"


class Watermark(models.Model):
    """The highest source id the incremental job has folded in, per source table."""

    source = models.CharField(max_length=32, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.source}: {self.last_id}"


class PendingRun(models.Model):
    """A run whose fact the job refreshes later: while a backlog is folded, every chunk touches
    runs that later chunks touch again, so their refresh waits until the job has caught up (or
    ``ROLLUP_DEFER_SECONDS`` have passed) and happens once. Written in the chunk's transaction
    with the watermarks; a plain id, no key: a run deleted meanwhile is simply dropped."""

    run_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"run {self.run_id} pending"


class AnalyticsSettings(models.Model):
    """Per-workspace analytics settings: the repeat-contact window (changing it rebuilds)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="analytics_settings"
    )
    repeat_window_days = models.PositiveSmallIntegerField(default=7)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"analytics settings of workspace {self.workspace_id}"
