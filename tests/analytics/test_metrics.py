"""The metric formulas on hand-built rows where the answer is known (no database)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from analytics.metrics import (
    ContactRow,
    MessageRow,
    Ratio,
    RunRow,
    Window,
    arms,
    blocked_by_reason,
    channel_rates,
    completion_rate,
    contact_episodes,
    cost_per_resolution,
    escalation_rate,
    funnel,
    opt_out_rate,
    percentile,
    percentile_from_histogram,
    repeat_contact_rate,
    time_to_completion,
    ttc_bucket,
    two_proportion_z,
    uplift,
    version_comparison,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def run(run_id, status="completed", *, customer=None, version=1, hours=0, holdout=False, took=None,
        nodes=("t", "send", "goal"), arms_=()):  # fmt: skip
    ended = at(hours + took) if took is not None else None
    return RunRow(
        run_id=run_id, customer_id=customer or run_id, journey_id=1, version=version,
        status=status, entered_at=at(hours), holdout=holdout, ended_at=ended,
        goal_reached_at=ended if status == "completed" else None, nodes=nodes, arms=arms_,
    )  # fmt: skip


def msg(message_id, run_id, channel="whatsapp", statuses=("sent",), hours=0.1, cost="0.10",
        customer=None, **extra):  # fmt: skip
    return MessageRow(
        message_id=message_id, customer_id=customer or run_id, channel=channel,
        created_at=at(hours), statuses=frozenset(statuses), run_id=run_id, journey_id=1,
        version=1, cost=Decimal(cost) if cost else None, sent_at=at(hours), **extra,
    )  # fmt: skip


def contact(event_id, customer, hours, kind="call", key="L1", channel="voice", group="treatment"):
    return ContactRow(event_id, customer, at(hours), kind, channel, key, 1, 1, group)


# --- completion ------------------------------------------------------------------------------


RUNS = [
    run(1, took=5),
    run(2, took=30),
    run(3, "exited", took=48, nodes=("t", "send")),
    run(4, "waiting", nodes=("t", "send")),  # still open: enrolled, not completed
    run(5, holdout=True, took=40),
    run(6, "exited", holdout=True, took=48, nodes=("t",)),
    run(7, version=2, hours=30, took=2),
]


def test_completion_counts_open_runs_as_enrolled_and_keeps_holdout_apart():
    split = completion_rate(RUNS)
    assert split.treatment == Ratio(3, 5)
    assert split.holdout == Ratio(1, 2)


def test_completion_filters_by_date_range_and_version():
    assert completion_rate(RUNS, Window(start=at(24))).treatment == Ratio(1, 1)
    assert completion_rate(RUNS, Window(end=at(24))).treatment == Ratio(2, 4)
    assert completion_rate(RUNS, Window(version=1)).treatment == Ratio(2, 4)
    assert completion_rate(RUNS, Window(version=2)).treatment == Ratio(1, 1)


def test_a_goal_reached_with_the_run_continuing_counts_as_completed():
    row = RunRow(9, 9, 1, 1, "waiting", at(0), goal_reached_at=at(3))
    assert completion_rate([row]).treatment == Ratio(1, 1)


# --- escalation --------------------------------------------------------------------------------


def test_escalation_counts_calls_agent_requests_and_voice_nodes_after_a_digital_touch():
    runs = [run(1, took=10), run(2, took=10), run(3, took=10), run(4, took=10), run(5, took=10)]
    messages = [
        msg(1, 1), msg(2, 2), msg(3, 3), msg(4, 4), msg(5, 5, channel="sms"),
        msg(6, 3, channel="voice", hours=3),  # run 3 reached its voice node
    ]  # fmt: skip
    contacts = [
        contact(1, 1, 2),  # run 1's customer called in
        contact(2, 2, 2, kind="agent"),  # run 2's customer asked for an agent
        contact(3, 4, 2, kind="message", channel="whatsapp"),  # digital reply: no escalation
        contact(4, 5, 20),  # after run 5 ended: not this run's escalation
    ]
    assert escalation_rate(runs, messages, contacts) == Ratio(3, 5)


def test_escalation_needs_a_digital_touch_so_holdout_callers_are_not_counted():
    runs = [run(1, took=10), run(2, holdout=True, took=10), run(3, took=10)]
    messages = [
        msg(1, 1),
        msg(3, 3, statuses=("blocked",)),  # never left: no digital touch
    ]
    contacts = [contact(1, 2, 1), contact(2, 3, 1)]  # the holdout customer called anyway
    assert escalation_rate(runs, messages, contacts) == Ratio(0, 1)


def test_escalation_before_the_first_digital_touch_does_not_count():
    runs = [run(1, took=10)]
    messages = [msg(1, 1, hours=5)]
    assert escalation_rate(runs, messages, [contact(1, 1, 2)]) == Ratio(0, 1)


def test_escalation_filters_by_version():
    runs = [run(1, took=10), run(2, version=2, took=10)]
    messages = [msg(1, 1), msg(2, 2)]
    contacts = [contact(1, 2, 1)]
    assert escalation_rate(runs, messages, contacts, Window(version=2)) == Ratio(1, 1)
    assert escalation_rate(runs, messages, contacts, Window(version=1)) == Ratio(0, 1)


# --- repeat contact ---------------------------------------------------------------------------


def test_a_repeat_on_another_channel_within_the_window_is_a_repeat_contact():
    contacts = [
        contact(1, 10, 0, kind="call"),
        contact(2, 10, 30, kind="message", channel="whatsapp"),  # same loan, other channel
        contact(3, 11, 0, kind="advisor", channel="whatsapp"),  # one contact only
    ]
    assert repeat_contact_rate(contacts) == Ratio(1, 2)


def test_a_contact_outside_the_window_starts_a_new_episode():
    contacts = [contact(1, 10, 0), contact(2, 10, 24 * 8)]
    assert repeat_contact_rate(contacts) == Ratio(0, 2)
    assert repeat_contact_rate(contacts, window=timedelta(days=10)) == Ratio(1, 1)


def test_contacts_about_different_keys_are_separate_episodes():
    contacts = [contact(1, 10, 0, key="L1"), contact(2, 10, 1, key="L2")]
    assert repeat_contact_rate(contacts) == Ratio(0, 2)


def test_agent_requests_are_not_contacts_of_their_own():
    contacts = [contact(1, 10, 0, kind="call"), contact(2, 10, 0.01, kind="agent")]
    assert repeat_contact_rate(contacts) == Ratio(0, 1)


def test_holdout_customers_who_contacted_anyway_are_counted():
    contacts = [contact(1, 10, 0, group="holdout"), contact(2, 10, 2, group="holdout")]
    episodes = contact_episodes(contacts)
    assert [(e.group, e.contacts) for e in episodes] == [("holdout", 2)]


def test_repeat_contact_filters_by_period_and_version():
    contacts = [
        contact(1, 10, 0), contact(2, 10, 1),
        ContactRow(3, 11, at(50), "call", "voice", "L9", 1, 2, "treatment"),
    ]  # fmt: skip
    assert repeat_contact_rate(contacts, period=Window(start=at(24))) == Ratio(0, 1)
    assert repeat_contact_rate(contacts, period=Window(version=1)) == Ratio(1, 1)


# --- cost and time -----------------------------------------------------------------------------


def test_cost_per_resolution_includes_the_cost_of_runs_that_did_not_complete():
    runs = [run(1, took=5), run(2, "exited", took=5), run(3, holdout=True, took=5)]
    messages = [msg(1, 1, cost="0.30"), msg(2, 2, cost="0.50"), msg(3, 2, cost=None)]
    assert cost_per_resolution(runs, messages) == Decimal("0.80")
    assert cost_per_resolution([run(4, "waiting")], []) is None


def test_time_to_completion_median_and_p90_over_completed_treatment_runs():
    runs = [run(i, took=i) for i in range(1, 11)] + [run(50, holdout=True, took=99)]
    runs.append(run(51, "waiting"))
    median, p90 = time_to_completion(runs)
    assert (median, p90) == (5 * 3600, 9 * 3600)
    assert time_to_completion(runs, Window(start=at(100))) == (None, None)


def test_the_rolled_up_histogram_percentile_is_within_twenty_percent_above():
    values = [37.0, 600.0, 3600.0, 7200.0, 86400.0]
    hist: dict[int, int] = {}
    for v in values:
        hist[ttc_bucket(v)] = hist.get(ttc_bucket(v), 0) + 1
    exact = percentile(values, 0.5)
    approx = percentile_from_histogram(hist, 0.5)
    assert exact <= approx <= exact * 1.2


# --- funnel, channels, policy --------------------------------------------------------------------


def test_funnel_counts_distinct_runs_per_node_and_drop_off_where_runs_ended():
    runs = [
        run(1, nodes=("t", "send", "wait", "send", "goal")),  # re-entry counts once
        run(2, "exited", nodes=("t", "send", "wait")),
        run(3, "waiting", nodes=("t", "send", "wait")),
        run(4, "failed", nodes=("t",)),
    ]
    rows = {r.node_id: r for r in funnel(runs, ["t", "send", "wait", "goal"])}
    assert [rows[n].reached for n in ("t", "send", "wait", "goal")] == [4, 3, 3, 1]
    assert rows["wait"].ended_here == 1 and rows["t"].ended_here == 1
    assert rows["wait"].drop_off == 1 / 3


def test_channel_rates_treat_read_as_delivered_and_blocked_as_not_attempted():
    messages = [
        msg(1, 1, statuses=("sent", "read")),
        msg(2, 2, statuses=("sent", "delivered", "replied")),
        msg(3, 3, statuses=("failed",)),
        msg(4, 4, statuses=("blocked",), decision_reason="quiet_hours"),
        msg(5, 5, channel="sms", statuses=("sent", "delivered")),
    ]
    rates = channel_rates(messages)
    wa = rates["whatsapp"]
    assert (wa.attempted, wa.delivered, wa.read, wa.replied, wa.failed) == (3, 2, 1, 1, 1)
    assert wa.rate("delivered") == 2 / 3 and wa.rate("read") == 1 / 2
    assert rates["sms"].rate("delivered") == 1.0
    assert blocked_by_reason(messages) == {"quiet_hours": 1}
    assert channel_rates(messages, Window(start=at(1))) == {}


def test_opt_out_rate_is_withdrawals_over_delivered():
    assert opt_out_rate(2, 200) == 0.01
    assert opt_out_rate(1, 0) is None


# --- comparisons ----------------------------------------------------------------------------------


def test_uplift_interval_matches_newcombe_worked_example():
    # Newcombe (1998) table II example: 56/70 vs 48/80 -> difference 0.2, CI 0.0524 to 0.3339.
    result = uplift(Ratio(56, 70), Ratio(48, 80))
    assert round(result.difference, 4) == 0.2
    assert (round(result.low, 4), round(result.high, 4)) == (0.0524, 0.3339)
    assert result.significant
    assert uplift(Ratio(3, 10), Ratio(0, 0)) is None


def test_uplift_of_equal_rates_is_not_significant():
    assert not uplift(Ratio(10, 100), Ratio(1, 10)).significant


def test_two_proportion_z_test():
    result = two_proportion_z(Ratio(120, 1000), Ratio(90, 1000))
    assert round(result.z, 3) == 2.188  # pooled p 0.105, se 0.01371
    assert round(result.p_value, 4) == 0.0287 and result.significant
    assert not two_proportion_z(Ratio(5, 50), Ratio(6, 50)).significant
    assert two_proportion_z(Ratio(0, 0), Ratio(1, 2)) is None


def test_arms_and_version_comparison():
    runs = [
        run(1, arms_=(("ab", "A"),)), run(2, "exited", took=1, arms_=(("ab", "A"),)),
        run(3, arms_=(("ab", "B"),)), run(4, holdout=True, arms_=(("ab", "B"),)),
        run(5, version=2, hours=3),
    ]  # fmt: skip
    assert arms(runs, "ab") == {"A": Ratio(1, 2), "B": Ratio(1, 1)}
    versions = version_comparison(runs, Window(version=1))
    assert versions[1].treatment == Ratio(2, 3) and versions[2].treatment == Ratio(1, 1)
    assert arms(runs, "ab", Window(start=at(1))) == {}
