"""``__in`` with plain integers takes the fast path and finds exactly what Django's would."""

import pytest
from django.db import connection

from console.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(workspace):
    return [
        Customer.objects.create(workspace=workspace, external_id=f"L{i}", phone=f"+9198000000{i}")
        for i in range(4)
    ]


def ids(queryset):
    return sorted(queryset.values_list("pk", flat=True))


def test_integer_lists_sets_and_duplicates_match_the_same_rows(customers):
    a, b, c, _ = (x.pk for x in customers)
    assert ids(Customer.objects.filter(pk__in=[c, a, a])) == sorted([a, c])
    assert ids(Customer.objects.filter(id__in={b})) == [b]
    assert ids(Customer.objects.filter(id__in=(a, 10**12))) == [a]
    assert ids(Customer.objects.filter(id__in=[])) == []
    sql = str(Customer.objects.filter(id__in=[c, a, a]).query)
    if connection.vendor == "postgresql":  # one array parameter: the same text for any count
        assert sql.endswith(f"= ANY([{c}, {a}])")
    else:
        assert sql.endswith(f"IN ({c}, {a})")


def test_anything_but_plain_integers_takes_djangos_path(customers, workspace):
    a, b = customers[0], customers[1]
    assert ids(Customer.objects.filter(pk__in=[str(a.pk), b.pk, None])) == sorted([a.pk, b.pk])
    assert ids(Customer.objects.filter(workspace__in=[workspace])) == ids(Customer.objects.all())
    assert ids(Customer.objects.filter(workspace_id__in=[workspace.pk, True])) == ids(
        Customer.objects.all()
    )
    inner = Customer.objects.filter(external_id="L2").values("pk")
    assert ids(Customer.objects.filter(pk__in=inner)) == [customers[2].pk]
    with pytest.raises((ValueError, TypeError)):
        list(Customer.objects.filter(pk__in=["x"]))
