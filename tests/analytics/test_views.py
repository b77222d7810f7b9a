"""Dashboards: permissions, workspace isolation, numbers from rollups, htmx partials, CSV."""

import csv
import io

import plotly
import pytest

from analytics.exports import csv_cell, csv_text
from analytics.rollups import rollups_update
from tests.analytics.factories import (
    at,
    consent_make,
    customer_make,
    event_make,
    journey_make,
    message_make,
    run_end,
    run_make,
    status_make,
    step_make,
)

pytestmark = pytest.mark.django_db
RANGE = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def loan_journey(workspace):
    journey = journey_make(workspace, "Payment reminder", versions=(1, 2))
    journey.versions.update(
        graph={
            "nodes": [
                {"id": "trigger", "kind": "trigger.event"},
                {"id": "wa", "kind": "send"},
                {"id": "goal", "kind": "goal"},
            ]
        }  # fmt: skip
    )
    for n in range(4):
        customer = customer_make(workspace, n, phone=f"+91981234567{n}")
        run = run_make(journey, customer, hours=n, key=f"L{n}", holdout=n == 3, status="waiting")
        step_make(run, "trigger", kind="trigger.event", hours=n)
        if n < 3:
            step_make(run, "wa", hours=n)
            message = message_make(customer, run=run, node="wa", hours=n, cost="0.5000")
            status_make(message, "sent", n + 0.1)
        if n in (0, 3):
            step_make(run, "goal", kind="goal", port="", hours=n + 2)
            run_end(run, "completed", n + 2, goal=True)
    event_make(journey.runs.get(correlation_value="L1").customer, "inbound.call", 4)
    rollups_update()
    return journey


@pytest.mark.parametrize("role", ["admin", "marketing", "operations", "viewer"])
def test_roles_with_view_analytics_open_every_dashboard(client_as, role, loan_journey):
    client = client_as(role)
    for url in ("/analytics/", "/analytics/channels/", f"/analytics/journeys/{loan_journey.pk}/"):
        assert client.get(url).status_code == 200, url


def test_support_cannot_open_analytics(client_as, loan_journey):
    assert client_as("support").get("/analytics/").status_code == 403
    assert client_as("support").get(f"/analytics/journeys/{loan_journey.pk}/").status_code == 403


def test_another_workspaces_journey_is_not_found(client_as, other_workspace, members):
    theirs = journey_make(other_workspace, "Theirs")
    client = client_as("admin")
    assert client.get(f"/analytics/journeys/{theirs.pk}/").status_code == 404
    assert client.get(f"/analytics/journeys/{theirs.pk}/customers/").status_code == 404


def test_journey_dashboard_shows_rates_from_rollups(client_as, loan_journey):
    page = client_as("marketing").get(f"/analytics/journeys/{loan_journey.pk}/?{RANGE}")
    html = page.content.decode()
    assert 'data-testid="completion-rate">33.3%' in html  # 1 of 3 treatment runs
    assert 'data-testid="escalation-rate">33.3%' in html  # run L1's customer called in
    assert 'data-live-topic="journey:' in html
    assert f"/analytics/plotly-{plotly.__version__}.min.js" in html
    assert "https://" not in html and "http://" not in html


def test_htmx_refresh_renders_only_the_body(client_as, loan_journey):
    page = client_as("viewer").get(
        f"/analytics/journeys/{loan_journey.pk}/?{RANGE}", HTTP_HX_REQUEST="true"
    )
    html = page.content.decode()
    assert html.lstrip().startswith('<div id="analytics-body"')
    assert "<html" not in html


def test_version_and_date_filters_narrow_the_numbers(client_as, loan_journey):
    client = client_as("viewer")
    v2 = client.get(f"/analytics/journeys/{loan_journey.pk}/?{RANGE}&version=2").content.decode()
    assert 'data-testid="enrolled-count">0<' in v2
    april = client.get(f"/analytics/journeys/{loan_journey.pk}/?from=2026-04-01&to=2026-04-30")
    assert 'data-testid="enrolled-count">0<' in april.content.decode()


def test_bad_filters_name_the_field_and_the_fix(client_as, loan_journey):
    page = client_as("viewer").get(
        f"/analytics/journeys/{loan_journey.pk}/?from=yesterday&version=x"
    )
    html = page.content.decode()
    assert "from: Write the from date as YYYY-MM-DD" in html
    assert "version: Pick a version number" in html


def test_drill_down_lists_the_customers_behind_a_number(client_as, loan_journey):
    page = client_as("viewer").get(
        f"/analytics/journeys/{loan_journey.pk}/customers/?{RANGE}&metric=escalated"
    )
    html = page.content.decode()
    assert "Customer 1" in html and "Customer 0" not in html
    holdout = client_as("viewer").get(
        f"/analytics/journeys/{loan_journey.pk}/customers/?{RANGE}&metric=holdout"
    )
    assert "Customer 3" in holdout.content.decode()


def test_csv_export_of_a_dashboard_table(client_as, loan_journey):
    response = client_as("viewer").get(
        f"/analytics/journeys/{loan_journey.pk}/?{RANGE}&format=csv&table=funnel"
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["node", "label", "reached", "ended here", "drop-off"]
    assert ["trigger", "trigger.event", "4", "0", "0.0%"] in rows
    missing = client_as("viewer").get(f"/analytics/journeys/{loan_journey.pk}/?format=csv&table=x")
    assert missing.status_code == 400 and b"funnel" in missing.content


def test_drill_down_csv_keeps_phone_numbers_readable_and_safe(client_as, loan_journey):
    response = client_as("viewer").get(
        f"/analytics/journeys/{loan_journey.pk}/customers/?{RANGE}&metric=enrolled&format=csv"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    phones = {row[3] for row in rows[1:]}
    assert phones == {"'+919812345670", "'+919812345671", "'+919812345672"}


def test_csv_cells_that_could_be_formulas_get_a_leading_quote():
    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    for text in ("+919812345678", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(text) == "'" + text
    assert csv_cell("Meena =1") == "Meena =1"
    assert csv_cell(-5) == -5 and csv_cell(0.25) == 0.25  # numbers stay numbers
    assert csv_text(["a"], [["=1+1"]]) == "a\r\n'=1+1\r\n"


def test_overview_shows_active_runs_and_messages_today(client_as, loan_journey):
    html = client_as("viewer").get("/analytics/").content.decode()
    assert 'data-testid="active-runs">2<' in html  # L1 and L2 still waiting
    assert 'data-live-topic="workspace:' in html


def test_plotly_js_is_served_from_the_package_with_long_cache(client):
    response = client.get(f"/analytics/plotly-{plotly.__version__}.min.js")
    assert response.status_code == 200
    assert "max-age=31536000" in response["Cache-Control"]
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()


def test_refresh_folds_in_new_rows_on_demand(client_as, loan_journey, workspace):
    customer = customer_make(workspace, 9)
    run_make(loan_journey, customer, hours=10, key="L9")
    client_as("operations").post("/analytics/refresh/")
    html = (
        client_as("viewer").get(f"/analytics/journeys/{loan_journey.pk}/?{RANGE}").content.decode()
    )
    assert 'data-testid="enrolled-count">4<' in html


def test_channel_dashboard_reports_rates_latency_and_cost(client_as, loan_journey):
    html = client_as("viewer").get(f"/analytics/channels/?{RANGE}").content.decode()
    assert "whatsapp" in html and "provider:simulator" in html
    response = client_as("viewer").get(f"/analytics/channels/?{RANGE}&format=csv&table=cost")
    assert "whatsapp,1.5" in response.content.decode()
    assert at(0).year == 2026


@pytest.fixture
def split_journey(workspace):
    """Arm a: 2 of 3 runs complete; arm b: 0 of 3; one arm-a customer opts out of SMS."""
    journey = journey_make(workspace, "Card activation")
    for n in range(6):
        arm = "a" if n < 3 else "b"
        customer = customer_make(workspace, 10 + n)
        run = run_make(journey, customer, hours=n, key=f"K{n}", status="waiting")
        step_make(run, "trigger", kind="trigger.event", hours=n)
        step_make(run, "ab", kind="split", port=arm, hours=n)
        step_make(run, "sms", hours=n)
        status_make(message_make(customer, run=run, node="sms", channel="sms", hours=n), "sent", n)
        if arm == "a" and n < 2:
            step_make(run, "goal", kind="goal", port="", hours=n + 1)
            run_end(run, "completed", n + 1, goal=True)
    consent_make(journey.runs.get(correlation_value="K2").customer, "sms", hours=4)
    rollups_update()
    return journey


def test_ab_arms_are_compared_with_interval_and_significance_in_chart_table_and_csv(
    client_as, split_journey
):
    client = client_as("viewer")
    html = client.get(f"/analytics/journeys/{split_journey.pk}/?{RANGE}").content.decode()
    assert 'data-chart="arms"' in html
    response = client.get(f"/analytics/journeys/{split_journey.pk}/?{RANGE}&format=csv&table=arms")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:8] == ["split", "arm", "completed", "of", "rate", "95% CI", "versus",
                           "difference (pts)"]  # fmt: skip
    a, b = rows[1], rows[2]
    assert a == ["ab", "a", "2", "3", "66.7%", "20.8% to 93.9%", "", "", "", "", "", "", ""]
    # b against a: pooled p = 1/3, z = -0.667 / sqrt(1/3 * 2/3 * 2/3) = -1.732, p = 0.0833;
    # Newcombe: -66.7 - sqrt(0 + (93.85 - 66.67)^2) and -66.7 + sqrt(56.15^2 + (66.67 - 20.77)^2)
    assert b == ["ab", "b", "0", "3", "0.0%", "0.0% to 56.1%", "a", "-66.7", "-93.9", "5.9",
                 "-1.732", "0.0833", "no"]  # fmt: skip


def test_journey_opt_out_rate_is_shown_exported_and_drills_to_the_customer(
    client_as, split_journey
):
    client = client_as("viewer")
    html = client.get(f"/analytics/journeys/{split_journey.pk}/?{RANGE}").content.decode()
    assert 'data-testid="optout-rate">16.7%<' in html  # 1 of 6 runs that sent
    response = client.get(f"/analytics/journeys/{split_journey.pk}/?{RANGE}&format=csv&table=rates")
    assert "Opt-outs (treatment runs that sent),1,6,16.7%" in response.content.decode()
    drill = client.get(
        f"/analytics/journeys/{split_journey.pk}/customers/?{RANGE}&metric=optout"
    ).content.decode()
    assert "Customer 12" in drill and "Customer 11" not in drill


def test_drill_down_pages_without_counting_every_run(client_as, loan_journey, monkeypatch):
    monkeypatch.setattr("analytics.views.DRILL_PAGE", 2)
    client = client_as("viewer")
    url = f"/analytics/journeys/{loan_journey.pk}/customers/?{RANGE}&metric=enrolled"
    first = client.get(url).content.decode()  # 3 treatment runs, newest first
    assert "Customer 2" in first and "Customer 1" in first and "Customer 0" not in first
    assert "page=2" in first and "Page 1" in first
    second = client.get(url + "&page=2").content.decode()
    assert "Customer 0" in second and "Customer 2" not in second and "page=3" not in second
    assert "Customer 2" in client.get(url + "&page=x").content.decode()  # bad page: the first


def test_journey_dashboard_sums_its_cells_in_one_query_and_never_scans_sources(
    client_as, loan_journey
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as("viewer")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/analytics/journeys/{loan_journey.pk}/?{RANGE}").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("analytics_dailycell" in s for s in sql) == 1
    for source in ('journeys_run"', 'channels_app_message"', 'console_event"', "journeys_step"):
        assert not any(f'FROM "{source}' in s for s in sql), source
