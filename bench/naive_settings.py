"""Bench-only settings: Sangam's settings plus the naive design's app (bench/naive_app).

The django-q2 cluster keeps the product's configuration (database broker unless REDIS_URL,
persistent connections, poll, recycle, save_limit); only the worker count (Q_WORKERS), the
cluster name and the scheduler change: the bench driver fires the periodic sweep itself after it
moves the fake clock, and the product's own schedules must not run here.
"""

from console.settings import *  # noqa: F403
from console.settings import INSTALLED_APPS, Q_CLUSTER

INSTALLED_APPS = [*INSTALLED_APPS, "naive_app"]
Q_CLUSTER = {**Q_CLUSTER, "name": "naive-bench", "scheduler": False}
