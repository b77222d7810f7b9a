"""journey_validate: each problem it reports, on the payment-reminder seed bent out of shape."""

import copy

import pytest

from journeys.engine import TemplateInfo, journey_validate
from journeys.engine.seeds import SEED_TEMPLATES, payment_reminder_journey, seed_versions

TEMPLATES = {
    key: TemplateInfo(channel, category, "approved")
    for key, (channel, category) in SEED_TEMPLATES.items()
}
TRIGGER_PROPS = {"loan_id", "amount", "due_date"}


def base():
    return copy.deepcopy(payment_reminder_journey())


def node(data, node_id):
    return next(n for n in data["nodes"] if n["id"] == node_id)


def codes(data, **kwargs):
    kwargs.setdefault("templates", TEMPLATES)
    return [(p.node_id, p.code) for p in journey_validate(data, **kwargs)]


def only(data, code, **kwargs):
    kwargs.setdefault("templates", TEMPLATES)
    found = [p for p in journey_validate(data, **kwargs) if p.code == code]
    assert len(found) == 1, journey_validate(data, **kwargs)
    return found[0]


def test_the_seed_journeys_have_no_problems():
    for version in seed_versions().values():
        assert journey_validate(version, templates=TEMPLATES) == []


def test_a_bad_top_level_field_is_reported_with_its_name():
    data = base() | {"holdout_percent": 80}
    (problem,) = journey_validate(data)
    assert (problem.code, problem.field) == ("invalid_format", "holdout_percent")
    assert "50" in problem.message


def test_a_journey_without_a_trigger_says_to_add_one():
    data = base()
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "trigger"]
    data["edges"] = [e for e in data["edges"] if e["from"] != "trigger"]
    data["trigger"] = None
    problem = only(data, "no_trigger")
    assert "add one" in problem.message


def test_a_second_trigger_is_reported_on_that_node():
    data = base()
    data["nodes"].append({"id": "t2", "kind": "trigger.event", "config": {"event": "x"}})
    data["edges"].append({"from": "t2", "port": "out", "to": "sms"})
    assert only(data, "many_triggers").node_id == "t2"


def test_an_unreachable_node_is_named():
    data = base()
    data["nodes"].append({"id": "lost", "kind": "exit", "config": {}, "label": "Lost"})
    problem = only(data, "unreachable")
    assert problem.node_id == "lost"
    assert problem.message.startswith("“Lost” (lost):")


def test_a_required_port_left_unconnected_is_an_error_and_an_optional_one_a_warning():
    data = base()
    data["edges"] = [e for e in data["edges"] if (e["from"], e["port"]) != ("wait_read", "timeout")]
    data["edges"] = [e for e in data["edges"] if (e["from"], e["port"]) != ("whatsapp", "failed")]
    dangling = only(data, "dangling_port")
    assert (dangling.node_id, dangling.severity) == ("wait_read", "error")
    assert "'timeout'" in dangling.message
    warning = only(data, "unconnected_port")
    assert (warning.node_id, warning.severity) == ("whatsapp", "warning")


def test_edges_to_unknown_nodes_or_ports_and_doubled_ports_are_reported():
    data = base()
    data["edges"].append({"from": "sms", "port": "sent", "to": "nowhere"})
    data["edges"].append({"from": "sms", "port": "delivered", "to": "voice"})
    data["edges"].append({"from": "wait_read", "port": "matched", "to": "voice"})
    found = codes(data)
    assert ("sms", "unknown_edge_node") in found
    assert ("sms", "unknown_port") in found
    assert ("wait_read", "port_reused") in found


def test_a_loop_without_a_wait_is_refused_but_a_loop_through_a_wait_is_fine():
    data = base()
    data["nodes"] += [
        {"id": "mark", "kind": "update", "config": {"name": "n", "value": 1}},
        {"id": "again", "kind": "branch", "config": {
            "arms": [{"port": "yes", "when": {"path": "context.n", "op": "eq", "value": 1}}]}},
    ]  # fmt: skip
    data["edges"] = [e for e in data["edges"] if (e["from"], e["port"]) != ("voice", "2")]
    data["edges"] += [
        {"from": "voice", "port": "2", "to": "mark"},
        {"from": "mark", "port": "out", "to": "again"},
        {"from": "again", "port": "yes", "to": "mark"},
        {"from": "again", "port": "no", "to": "wait_after_call"},
    ]
    problem = only(data, "loop_without_wait")
    assert "mark → again" in problem.message
    data["edges"][-2]["to"] = "wait_payment"  # back through a wait-for: allowed
    assert "loop_without_wait" not in [code for _, code in codes(data)]


def test_missing_and_unapproved_templates_are_named():
    templates = dict(TEMPLATES)
    del templates["payment_reminder_sms"]
    templates["payment_reminder_whatsapp"] = TemplateInfo("whatsapp", "utility", "PENDING")
    found = {p.code: p for p in journey_validate(base(), templates=templates)}
    assert found["template_missing"].node_id == "sms"
    assert found["template_missing"].field == "template"
    assert "pending" in found["template_unapproved"].message


def test_whatsapp_marketing_template_in_a_service_node_is_a_mismatch():
    templates = dict(TEMPLATES)
    templates["payment_reminder_whatsapp"] = TemplateInfo("whatsapp", "MARKETING", "approved")
    problem = only(base(), "template_purpose_mismatch", templates=templates)
    assert problem.node_id == "whatsapp"
    assert "marketing template" in problem.message and "service node" in problem.message


def test_a_template_of_another_channel_is_refused():
    templates = dict(TEMPLATES)
    templates["payment_reminder_sms"] = TemplateInfo("whatsapp", "utility", "approved")
    assert only(base(), "template_channel_mismatch", templates=templates).node_id == "sms"


def test_a_voice_call_without_calling_hours_is_refused():
    data = base()
    del node(data, "voice")["config"]["calling_window"]
    problem = only(data, "voice_no_calling_window")
    assert problem.field == "calling_window"
    assert "08:00-19:00" in problem.message


def test_a_promotional_send_must_respect_quiet_hours():
    data = base()
    node(data, "sms")["config"] |= {"purpose": "promotional", "respect_quiet_hours": False}
    templates = dict(TEMPLATES)
    templates["payment_reminder_sms"] = TemplateInfo("sms", "promotional", "approved")
    problem = only(data, "promotional_ignores_quiet_hours", templates=templates)
    assert problem.node_id == "sms"


def test_variables_the_trigger_does_not_provide_are_reported():
    templates = dict(TEMPLATES)
    templates["payment_reminder_sms"] = TemplateInfo(
        "sms", "service", "approved", ("amount", "customer.name", "pay_link")
    )
    problem = only(
        base(), "variable_missing", templates=templates, trigger_properties=TRIGGER_PROPS
    )
    assert "'pay_link'" in problem.message
    data = base()
    node(data, "sms")["config"]["variables"] = {"pay_link": "attributes.pay_link"}
    assert "variable_missing" not in [
        c for _, c in codes(data, templates=templates, trigger_properties=TRIGGER_PROPS)
    ]


def test_a_correlation_key_the_trigger_lacks_is_reported():
    assert only(base(), "correlation_key_missing", trigger_properties={"amount"}).field == (
        "entry.correlation_key"
    )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"channel": "fax", "template": "x"}, "channel"),
        ({"channel": "sms", "template": "x", "purpose": "spam"}, "purpose"),
        ({"channel": "sms", "template": "x", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_configs_name_the_field(config, field):
    data = base()
    node(data, "sms")["config"] = config
    problems = [
        p for p in journey_validate(data, templates=TEMPLATES) if p.code == "invalid_config"
    ]
    assert [p.field for p in problems] == [field]
    assert problems[0].node_id == "sms"


def test_an_unknown_kind_lists_the_known_ones():
    data = base()
    node(data, "sms")["kind"] = "carrier_pigeon"
    problem = only(data, "unknown_kind")
    assert "send" in problem.message and "wait_for" in problem.message


def test_goal_goto_must_name_a_node():
    data = base() | {"goal": {"event": "payment.received", "then": "goto", "goto": "nope"}}
    assert only(data, "goal_goto_unknown").field == "goal.goto"


def test_a_webhook_host_must_be_on_the_allow_list():
    data = base()
    data["nodes"].append(
        {"id": "hook", "kind": "webhook", "config": {"url": "https://crm.example.com/h"}}
    )
    data["edges"] = [e for e in data["edges"] if (e["from"], e["port"]) != ("voice", "2")]
    data["edges"] += [
        {"from": "voice", "port": "2", "to": "hook"},
        {"from": "hook", "port": "ok", "to": "wait_after_call"},
        {"from": "hook", "port": "failed", "to": "wait_after_call"},
    ]
    assert journey_validate(data, templates=TEMPLATES, webhook_hosts={"crm.example.com"}) == []
    problem = only(data, "webhook_host_not_allowed", webhook_hosts={"other.example.com"})
    assert "allow-list" in problem.message


def test_the_coupon_the_promo_template_needs_is_set_by_the_update_node_before_it():
    from journeys.engine.seeds import ecommerce_order_journey

    templates = dict(TEMPLATES)
    templates["return10_promo_sms"] = TemplateInfo(
        "sms", "promotional", "approved", ("customer.first_name", "context.coupon_code")
    )
    known = {
        "trigger_properties": {"order_id", "amount"},
        "event_properties": {"order.dispatched": {"courier"}, "order.delivered": set()},
    }
    data = ecommerce_order_journey()
    assert journey_validate(data, templates=templates, **known) == []
    node(data, "coupon")["config"]["name"] = "promo_code"
    problem = only(data, "variable_missing", templates=templates, **known)
    assert problem.node_id == "promo" and "'context.coupon_code'" in problem.message
