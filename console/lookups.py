"""``__in`` over plain integers without Django's per-value preparation.

The batch writers filter on lists of hundreds of ids (a batch's runs, messages, customers);
Django's ``In`` prepares and compiles each value on its own, which cost about a twentieth of a
batch's CPU. When every value is already an ``int`` that work is the identity, so these lookups
pass the values through as they are; anything else (strings, model instances, expressions,
subqueries) takes Django's path unchanged. Registered for integer fields and foreign keys in
``ConsoleConfig.ready``."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import ForeignObject, IntegerField
from django.db.models.expressions import ColPairs
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In
from django.utils.datastructures import OrderedSet

_PLAIN = (list, tuple, set, frozenset, OrderedSet)


def _ints(values) -> bool:
    return type(values) in _PLAIN and all(type(v) is int for v in values)


class _PlainInts:
    def get_prep_lookup(self):
        if not isinstance(self.lhs, ColPairs) and _ints(self.rhs):
            return list(self.rhs)
        return super().get_prep_lookup()

    def batch_process_rhs(self, compiler, connection, rhs=None):
        values = self.rhs if rhs is None else rhs
        if _ints(values):
            values = tuple(values)
            return ["%s"] * len(values), values
        return super().batch_process_rhs(compiler, connection, rhs)


class _AnyArray:
    """PostgreSQL: ``col = ANY(%s)`` with the ids as one array parameter. The statement's text
    no longer depends on how many ids there are, so the driver parses it once per process
    instead of splitting a query of hundreds of placeholders on every call."""

    def as_sql(self, compiler, connection):
        if connection.vendor == "postgresql" and self.rhs_is_direct_value() and _ints(self.rhs):
            values = list(dict.fromkeys(self.rhs))
            if not values:
                raise EmptyResultSet
            lhs, lhs_params = self.process_lhs(compiler, connection)
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        return super().as_sql(compiler, connection)


class IntIn(_AnyArray, _PlainInts, In):
    pass


class RelatedIntIn(_AnyArray, _PlainInts, RelatedIn):
    pass


def lookups_register() -> None:
    IntegerField.register_lookup(IntIn)
    ForeignObject.register_lookup(RelatedIntIn)
