"""Live notices for browsers: published on commit, coalesced, relayed to WebSocket groups.

A notice says "topic X changed" (a customer's timeline, a journey's counters); the browser then
re-renders that panel from the database. Notices are hints, not data, so coalescing them is safe:
a burst of 10,000 steps in one second becomes a few frames per topic.

Two transports, chosen by settings.LIVE_DIRECT:
- Redis (direct): every process sends to the channels_redis layer itself.
- Embedded (relay): processes write LiveNotice rows (one per coalescing interval, holding every
  topic of it); a relay task inside daphne polls them and forwards them to the in-memory layer. Nothing beyond the database is needed, and workers in
  other processes still reach the browser.
"""

import asyncio
import atexit
import logging
import threading
import time
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

log = logging.getLogger("sangam.live")

MESSAGE_TYPE = "live.notice"
# A LiveNotice row with this group carries a whole flush: {topic: data}.
BATCH_GROUP = "*"


def live_group(topic: str) -> str:
    """Channel-layer group name for a topic such as `customer:12` or `workspace:3`."""
    return "live." + topic.replace(":", ".")


def live_publish(topic: str, **data) -> None:
    """Announce that `topic` changed, once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _coalescer().add(topic, data))


class _Coalescer:
    """Collects topics for one interval and sends each once, from a background thread."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.pending: dict[str, dict] = {}
        self.lock = threading.Lock()
        # One flush at a time: two interleaved flushes could send an older notice after a newer one.
        self.flush_lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, topic: str, data: dict) -> None:
        with self.lock:
            self.pending[topic] = data
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="live-coalescer", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # a lost hint must never take a worker down
                log.exception("live notice flush failed")

    def flush(self) -> None:
        with self.flush_lock:
            self._flush()

    def _flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, {}
        if not batch:
            return
        if settings.LIVE_DIRECT:
            layer = get_channel_layer()
            for topic, data in batch.items():
                async_to_sync(layer.group_send)(
                    live_group(topic), {"type": MESSAGE_TYPE, "topic": topic, "data": data}
                )
        else:
            from django.db import connection

            from console.models import LiveNotice

            try:
                # One row per flush, whatever the number of topics: a worker's batch touches
                # hundreds of customers, and a row per topic cost the database more than the
                # notices are worth.
                LiveNotice.objects.create(group=BATCH_GROUP, payload=batch)
            finally:
                if settings.LIVE_RELAY_KEEP_CONNECTION:
                    connection.close_if_unusable_or_obsolete()  # kept, within CONN_MAX_AGE
                else:
                    connection.close()


_instance: _Coalescer | None = None
_instance_lock = threading.Lock()


def _coalescer() -> _Coalescer:
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Coalescer(settings.LIVE_RELAY_INTERVAL)
            atexit.register(_instance.flush)
        return _instance


def live_flush() -> None:
    """Send whatever is pending now (tests and short-lived commands), from any thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _coalescer().flush()
        return
    # A loop runs in this thread (e.g. Playwright's): sync-to-async needs a thread of its own.
    worker = threading.Thread(target=_coalescer().flush)
    worker.start()
    worker.join()


# --- the relay inside daphne (embedded mode) --------------------------------------------------

_relay_task: asyncio.Task | None = None


def live_relay_ensure() -> None:
    """Start the relay in this event loop once; a no-op with Redis."""
    global _relay_task
    if settings.LIVE_DIRECT:
        return
    if _relay_task is None or _relay_task.done():
        _relay_task = asyncio.get_running_loop().create_task(_relay_loop())


def _relay_fetch(after_id: int | None) -> tuple[int, list[tuple[str, dict]]]:
    from console.models import LiveNotice

    close_old_connections()
    if after_id is None:
        last = LiveNotice.objects.order_by("-id").values_list("id", flat=True).first()
        return last or 0, []
    rows = list(
        LiveNotice.objects.filter(id__gt=after_id)
        .order_by("id")
        .values_list("id", "group", "payload")[:5000]
    )
    if not rows:
        return after_id, []
    latest: dict[str, dict] = {}
    for _id, topic, payload in rows:
        if topic == BATCH_GROUP:
            latest.update(payload)
        else:
            latest[topic] = payload
    return rows[-1][0], list(latest.items())


def _relay_prune() -> None:
    from console.models import LiveNotice

    LiveNotice.objects.filter(created_at__lt=timezone.now() - timedelta(minutes=2)).delete()


async def _relay_loop() -> None:
    from channels.db import database_sync_to_async

    layer = get_channel_layer()
    fetch = database_sync_to_async(_relay_fetch)
    prune = database_sync_to_async(_relay_prune)
    last_id, _ = await fetch(None)
    last_prune = time.monotonic()
    while True:
        await asyncio.sleep(settings.LIVE_RELAY_INTERVAL)
        try:
            last_id, notices = await fetch(last_id)
            for topic, data in notices:
                await layer.group_send(
                    live_group(topic), {"type": MESSAGE_TYPE, "topic": topic, "data": data}
                )
            if time.monotonic() - last_prune > 30:
                await prune()
                last_prune = time.monotonic()
        except Exception:
            log.exception("live relay tick failed")
