"""The builder's compliance lint, test runs through the simulator, and save speed at 200 nodes."""

from __future__ import annotations

import copy
import json

import pytest

from journeys.builder.lint import journey_lint
from journeys.builder.selectors import builder_problems
from journeys.engine import journey_parse
from journeys.engine.seeds import payment_reminder_journey
from journeys.services import journey_create


def node(node_id, kind, **config):
    return {
        "id": node_id,
        "kind": kind,
        "config": config,
        "position": {"x": 0, "y": 0},
        "label": "",
    }


def chain(*nodes, ports=None):
    edges = [
        {"from": a["id"], "port": (ports or {}).get(a["id"], "out"), "to": b["id"]}
        for a, b in zip(nodes, nodes[1:], strict=False)
    ]
    return journey_parse({"format": 1, "nodes": list(nodes), "edges": edges})


def codes(problems):
    return {(p.node_id, p.code) for p in problems}


def test_promotional_sms_scheduled_at_night_is_flagged():
    version = chain(
        node("t", "trigger.event", event="order.delivered"),
        node("w", "wait", mode="time_of_day", at="22:30"),
        node("s", "send", channel="sms", template="return10", purpose="promotional"),
    )
    problems = journey_lint(version)
    assert ("s", "promotional_outside_hours") in codes(problems)
    assert "09:00-21:00" in problems[0].message


def test_collection_calls_outside_the_rbi_window_are_errors():
    version = chain(
        node("t", "trigger.event", event="emi.overdue"),
        node(
            "v",
            "voice_call",
            template="emi",
            keys={"1": "pay"},
            purpose="service",
            collection=True,
            calling_window={"start": "07:00", "end": "20:00"},
        ),
    )
    problem = next(p for p in journey_lint(version) if p.code == "collection_outside_rbi_hours")
    assert problem.severity == "error" and problem.field == "calling_window"


def test_a_send_without_a_chosen_purpose_is_flagged():
    version = chain(
        node("t", "trigger.event", event="x"), node("s", "send", channel="sms", template="a")
    )
    assert ("s", "purpose_not_chosen") in codes(journey_lint(version))


def test_two_channels_back_to_back_without_a_wait_would_echo():
    version = chain(
        node("t", "trigger.event", event="x"),
        node("wa", "send", channel="whatsapp", template="a", purpose="service"),
        node("sms", "send", channel="sms", template="b", purpose="service"),
        ports={"t": "out", "wa": "sent"},
    )
    assert ("sms", "echo_without_wait") in codes(journey_lint(version))


def test_a_fallback_on_skipped_is_not_an_echo():
    version = chain(
        node("t", "trigger.event", event="x"),
        node("wa", "send", channel="whatsapp", template="a", purpose="service"),
        node("sms", "send", channel="sms", template="b", purpose="service"),
        ports={"t": "out", "wa": "skipped"},
    )
    assert ("sms", "echo_without_wait") not in codes(journey_lint(version))


def test_engine_checks_catch_a_marketing_template_in_a_utility_node(
    workspace, templates, monkeypatch
):
    from journeys.builder import selectors
    from journeys.engine import TemplateInfo

    real = selectors.templates_info(workspace=workspace)
    promo = {"diwali_offer_whatsapp": TemplateInfo("whatsapp", "marketing", "approved")}
    monkeypatch.setattr(selectors, "templates_info", lambda workspace: real | promo)
    graph = payment_reminder_journey()
    next(n for n in graph["nodes"] if n["id"] == "whatsapp")["config"]["template"] = (
        "diwali_offer_whatsapp"
    )
    found = codes(builder_problems(workspace=workspace, graph=graph))
    assert ("whatsapp", "template_purpose_mismatch") in found


def test_the_seed_has_no_errors_once_its_templates_exist(workspace, templates):
    problems = builder_problems(workspace=workspace, graph=payment_reminder_journey())
    assert [p for p in problems if p.severity == "error"] == []


# --- test runs -------------------------------------------------------------------------------


@pytest.fixture
def journey(workspace, templates):
    return journey_create(
        workspace=workspace, name="Payment reminder", graph=payment_reminder_journey()
    )


def run(client, journey, **outcomes):
    data = {"customer": "test", "properties": '{"loan_id": "L1", "amount": "4500"}'}
    data |= {f"outcome.{k}": v for k, v in outcomes.items()}
    return client.post(f"/journeys/{journey.pk}/builder/test-run/", data, HTTP_HX_REQUEST="true")


def path_of(response):
    html = response.content.decode()
    start = html.index('<script id="test-run-path" type="application/json">') + 51
    return json.loads(html[start : html.index("</script>", start)])


def test_a_read_whatsapp_skips_the_sms_fallback(client_as, journey):
    path = path_of(run(client_as("marketing"), journey, whatsapp="read", wait_payment="arrives"))
    nodes = [s["node"] for s in path["steps"]]
    assert nodes[:3] == ["trigger", "whatsapp", "wait_read"] and "sms" not in nodes
    assert path["status"] == "completed"


def test_an_unread_whatsapp_falls_back_to_sms_and_the_messages_are_rendered(client_as, journey):
    response = run(client_as("marketing"), journey, whatsapp="delivered", wait_payment="arrives")
    path = path_of(response)
    assert [s["port"] for s in path["steps"][:3]] == ["out", "sent", "timeout"]
    assert path["steps"][3]["node"] == "sms"
    assert [m["channel"] for m in path["messages"]] == ["whatsapp", "sms"]
    assert response.content.decode().count('class="bubble channel-') == 2


def test_no_payment_leads_to_the_voice_bot_and_the_pressed_key(client_as, journey):
    path = path_of(
        run(
            client_as("marketing"),
            journey,
            whatsapp="read",
            wait_payment="timeout",
            voice="key:2",
            wait_after_call="timeout",
        )
    )
    ports = {s["node"]: s["port"] for s in path["steps"]}
    assert ports["voice"] == "2" and path["status"] == "exited"


def test_a_test_run_with_bad_properties_names_the_field(client_as, journey):
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/test-run/",
        {"customer": "test", "properties": "[1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422 and "Trigger properties" in response.content.decode()


def test_a_test_run_for_a_real_customer_uses_their_consent(client_as, journey, make_customer):
    customer = make_customer(consent=("sms",))
    response = client_as("marketing").post(
        f"/journeys/{journey.pk}/builder/test-run/",
        {"customer": customer.pk, "properties": '{"loan_id": "L2"}', "outcome.whatsapp": "skipped"},
        HTTP_HX_REQUEST="true",
    )
    ports = {s["node"]: s["port"] for s in path_of(response)["steps"]}
    assert ports["whatsapp"] == "skipped"


def test_the_test_run_form_lists_the_outcomes_to_choose(client_as, journey):
    html = client_as("viewer").get(f"/journeys/{journey.pk}/builder/test-run/").content.decode()
    assert 'name="outcome.voice"' in html and "Pressed 1 (pay now)" in html
    assert "Delivered, not read" in html


# --- speed -----------------------------------------------------------------------------------


def big_graph(count: int) -> dict:
    graph = payment_reminder_journey()
    nodes, edges = graph["nodes"], graph["edges"]
    edges[:] = [e for e in edges if not (e["from"] == "wait_after_call" and e["port"] == "timeout")]
    previous = "wait_after_call"
    for i in range(count - len(nodes)):
        kind = ("wait", "send")[i % 2]
        config = (
            {"mode": "duration", "hours": 1}
            if kind == "wait"
            else {"channel": "sms", "template": "payment_reminder_sms", "purpose": "service"}
        )
        nodes.append(
            {
                "id": f"n{i}",
                "kind": kind,
                "config": config,
                "position": {"x": 200 * i, "y": 0},
                "label": "",
            }
        )
        edges.append(
            {
                "from": previous,
                "port": "timeout"
                if previous == "wait_after_call"
                else ("out" if nodes[-2]["kind"] == "wait" else "sent"),
                "to": f"n{i}",
            }
        )
        previous = f"n{i}"
    edges.append(
        {"from": previous, "port": "sent" if nodes[-1]["kind"] == "send" else "out", "to": "unpaid"}
    )
    return graph


def test_saving_a_200_node_journey_validates_it_once_with_a_bounded_number_of_queries(
    client_as, journey, django_assert_max_num_queries
):
    graph = big_graph(200)
    client = client_as("marketing")
    body = json.dumps({"graph": graph, "revision": 0})
    url = f"/journeys/{journey.pk}/builder/save/"
    client.post(
        url,
        json.dumps({"graph": copy.deepcopy(journey.draft), "revision": 0}),
        content_type="application/json",
    )  # warm up
    body = json.dumps({"graph": graph, "revision": 1})
    # How long it takes is measured by bench/builder_save.py, not asserted here.
    with django_assert_max_num_queries(20):
        response = client.post(url, body, content_type="application/json")
    assert response.status_code == 200
    answer = response.json()
    assert len(answer["nodes"]) == 200
    assert [p for p in answer["problems"] if p["severity"] == "error"] == []
