"""Named work leases: which worker prepares a piece of shared work outside the write lock.

On SQLite every transaction takes the database's one write lock, so a batch prepared inside its
transaction keeps every other worker waiting for as long as the preparation takes (rendering,
policy decisions, stepping: most of a batch's time). The segment enrolment and the due-run
sweep therefore prepare a batch with reads only and write it in a short transaction. The lease
keeps two workers from preparing the same batch: the one that takes it prepares, the others do
other work; it is given back by the transaction that writes the batch (which also checks that
it was still held). A killed worker's lease is free at once for a process on the same machine
(which the embedded setup always is), and otherwise once it runs out.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from console.db import values_insert
from console.models import WorkLease


def this_process() -> str:
    """The holder name of the calling process, read at each call: django-q2 forks its workers
    from a process that has imported this module already."""
    return f"{os.uname().nodename}:{os.getpid()}"


def lease_take(name: str, *, now: datetime, seconds: float, holder: str = "") -> bool:
    """Take (or renew) the lease ``name`` for ``holder`` (this process unless given) unless
    another holder's has not run out; a short write transaction of its own."""
    holder = holder or this_process()
    free = Q(until__isnull=True) | Q(until__lt=now) | Q(holder=holder)
    until = now + timedelta(seconds=seconds)
    with transaction.atomic():
        rows = WorkLease.objects.filter(name=name)
        if rows.filter(free).update(holder=holder, until=until):
            return True
        held_by = rows.values_list("holder", flat=True).first()
        if held_by is not None:  # held: taken over only from a process that is gone
            return not _alive(held_by) and bool(
                rows.filter(holder=held_by).update(holder=holder, until=until)
            )
        values_insert(WorkLease, ["name", "holder", "until"], [[name, holder, until]],
                      ignore_conflicts=True)  # fmt: skip
        return rows.filter(holder=holder).exists()


def _alive(holder: str) -> bool:
    """Is the holder's process still running? Known only for a process on this machine (the
    embedded SQLite setup runs all its workers on one machine): a worker killed there frees
    its leases at once instead of after they run out."""
    host, _, pid = holder.rpartition(":")
    if host != os.uname().nodename or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_give_back(name: str, *, holder: str = "") -> bool:
    """Inside the transaction that writes the prepared work: True when ``holder`` (this
    process unless given) still held the lease, which is now free; False when it ran out and
    another worker may have it."""
    rows = WorkLease.objects.filter(name=name, holder=holder or this_process())
    return bool(rows.update(holder="", until=None))
