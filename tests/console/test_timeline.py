from datetime import timedelta

import pytest
from django.utils import timezone

from console.models import Customer, Event
from console.timeline import _SOURCES, TimelineEntry, timeline_entries, timeline_source_register


@pytest.fixture
def customer(workspace):
    return Customer.objects.create(
        workspace=workspace, external_id="C1", name="Priya", name_key="priya"
    )


def add_events(customer, n, start=None):
    start = start or timezone.now() - timedelta(days=1)
    for i in range(n):
        at = start + timedelta(minutes=i)
        Event.objects.create(
            workspace=customer.workspace,
            customer=customer,
            name="order.placed",
            properties={"n": i},
            occurred_at=at,
            received_at=at,
            idempotency_key=f"k{i}",
        )


def test_timeline_pages_newest_first_without_gaps_or_repeats(api, customer):
    add_events(customer, 25)
    seen, before = [], None
    while True:
        url = "/api/v1/customers/C1/timeline?limit=10" + (f"&before={before}" if before else "")
        body = api.get(url).json()
        seen += [e["data"]["properties"]["n"] for e in body["entries"]]
        before = body["next_before"]
        if not before:
            break
    assert seen == list(range(24, -1, -1))


def test_timeline_entries_with_equal_times_are_paged_once_each(customer):
    at = timezone.now()
    for i in range(5):
        Event.objects.create(
            workspace=customer.workspace,
            customer=customer,
            name="x",
            occurred_at=at,
            received_at=at,
            idempotency_key=f"same{i}",
        )
    first, cursor = timeline_entries(customer, limit=3)
    from console.timeline import TimelineCursor

    second, _ = timeline_entries(customer, limit=3, before=TimelineCursor.decode(cursor))
    keys = [e.key for e in first + second]
    assert len(keys) == 5 and len(set(keys)) == 5


def test_api_timeline_rejects_bad_paging_parameters(api, customer):
    assert api.get("/api/v1/customers/C1/timeline?limit=0").status_code == 400
    bad = api.get("/api/v1/customers/C1/timeline?before=yesterday")
    assert bad.status_code == 400 and "before" in bad.json()["fields"]


def test_other_apps_contribute_entries_through_the_registry(customer):
    add_events(customer, 1, start=timezone.now() - timedelta(hours=2))
    now = timezone.now()

    def messages(cust, limit, before):
        return [
            TimelineEntry(
                at=now, kind="message", channel="sms", summary="Order confirmed", key="message:1"
            )
        ]

    timeline_source_register("message", messages, label="Messages", channels=("sms",))
    try:
        entries, _ = timeline_entries(customer)
        assert [e.kind for e in entries] == ["message", "event"]
        only_sms, _ = timeline_entries(customer, channels={"sms"})
        assert [e.kind for e in only_sms] == ["message"]
        only_events, _ = timeline_entries(customer, kinds={"event"})
        assert [e.kind for e in only_events] == ["event"]
    finally:
        _SOURCES.pop("message")


def test_console_timeline_partial_renders_for_htmx_with_filters(client_as, customer):
    add_events(customer, 3)
    response = client_as("support").get(
        f"/customers/{customer.id}/?kind=event", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline"
    )
    html = response.content.decode()
    assert html.strip().startswith('<div id="timeline"')
    assert html.count('class="entry') == 3
    assert "<nav" not in html  # partial, not the whole shell
