"""Periodic django-q2 schedules: each app declares its own here, one hook creates them.

Apps call `schedule_register` at start-up (from their hooks); after every `migrate`, console's
post_migrate handler creates or updates each declared schedule by name, so running migrate again
neither duplicates a schedule nor leaves an old function or interval behind.
"""

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Periodic:
    name: str
    func: str  # dotted path of the task function
    minutes: int


_DECLARED: dict[str, Periodic] = {}


def schedule_register(name: str, func: str, *, minutes: int = 1) -> None:
    _DECLARED[name] = Periodic(name, func, minutes)


def schedules_declared() -> list[Periodic]:
    return list(_DECLARED.values())


def schedules_ensure() -> int:
    """Create or update every declared schedule (idempotent); returns how many were created."""
    from django_q.models import Schedule

    created = 0
    for periodic in _DECLARED.values():
        _, made = Schedule.objects.update_or_create(
            name=periodic.name,
            defaults={"func": periodic.func, "schedule_type": Schedule.MINUTES,
                      "minutes": periodic.minutes, "repeats": -1},
        )  # fmt: skip
        created += made
    return created


def schedules_after_migrate(sender, **kwargs) -> None:
    """post_migrate: once django-q2's table exists (a partial migrate may not have made it)."""
    if "django_q_schedule" in connection.introspection.table_names():
        schedules_ensure()
