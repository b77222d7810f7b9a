"""State the naive design keeps: one row per journey run, one row per message, a fake clock."""

from django.db import models


class NaiveClock(models.Model):
    """Journey time = real time + offset_s (one row; the bench driver moves it forward)."""

    offset_s = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"clock +{self.offset_s:.0f} s"


class NaiveRun(models.Model):
    """One customer's journey: the node it is at, when it is due, and the steps it has made."""

    customer = models.IntegerField(unique=True)
    node = models.CharField(max_length=32)
    status = models.CharField(max_length=16, default="active")  # active | waiting | ended
    due_at = models.DateTimeField(null=True, db_index=True)
    steps = models.PositiveIntegerField(default=0)
    exit_reason = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"run of customer {self.customer} at {self.node}"


class NaiveMessage(models.Model):
    """One send; the simulated provider answers at once, so its final status is stored with it."""

    run = models.ForeignKey(NaiveRun, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=16)  # read | delivered | failed | sent
    body = models.TextField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"
