"""The pure core of the journey engine: no database, no Django.

The service layer (locking, persistence, workers) wraps these functions:

- format:   ``journey_parse``, ``journey_export``, ``JourneyVersion`` (docs/journey-format.md)
- enrol:    ``trigger_matches``, ``segment_matches``, ``entry_decide``, ``holdout_assign``,
            ``run_start``, ``send_suppressed``
- stepping: ``run_advance(graph, state, *, now, inputs, customer) -> Advance``, ``run_stop``
- builder:  ``node_palette``, ``node_kind``, ``node_ports``, ``node_config_errors``,
            ``node_summary``
- checks:   ``journey_validate(version, *, templates, trigger_properties, ...) -> list[Problem]``
"""

from .conditions import condition_describe, condition_eval
from .enrol import (
    EntryDecision,
    PriorRun,
    entry_decide,
    holdout_assign,
    run_start,
    segment_matches,
    send_suppressed,
    trigger_matches,
)
from .format import JourneyVersion, journey_export, journey_export_text, journey_parse
from .registry import (
    Port,
    node_config_errors,
    node_config_parse,
    node_kind,
    node_kinds,
    node_palette,
    node_ports,
    node_summary,
)
from .stepper import MAX_STEPS_PER_ADVANCE, run_advance, run_stop
from .types import (
    Advance,
    CallOutcome,
    CallRequest,
    CustomerNeeded,
    CustomerUnread,
    CustomerView,
    Effect,
    EventInput,
    Input,
    MessageOutcome,
    RunState,
    Schedule,
    SendRequest,
    SendVerdict,
    Step,
    TimerTick,
    UpdateAttribute,
    WaitSpec,
    WebhookCall,
    WebhookResult,
)
from .validate import Problem, TemplateInfo, journey_validate

__all__ = [
    "MAX_STEPS_PER_ADVANCE",
    "Advance",
    "CallOutcome",
    "CallRequest",
    "CustomerNeeded",
    "CustomerUnread",
    "CustomerView",
    "Effect",
    "EntryDecision",
    "EventInput",
    "Input",
    "JourneyVersion",
    "MessageOutcome",
    "Port",
    "PriorRun",
    "Problem",
    "RunState",
    "Schedule",
    "SendRequest",
    "SendVerdict",
    "Step",
    "TemplateInfo",
    "TimerTick",
    "UpdateAttribute",
    "WaitSpec",
    "WebhookCall",
    "WebhookResult",
    "condition_describe",
    "condition_eval",
    "entry_decide",
    "holdout_assign",
    "journey_export",
    "journey_export_text",
    "journey_parse",
    "journey_validate",
    "node_config_errors",
    "node_config_parse",
    "node_kind",
    "node_kinds",
    "node_palette",
    "node_ports",
    "node_summary",
    "run_advance",
    "run_start",
    "run_stop",
    "segment_matches",
    "send_suppressed",
    "trigger_matches",
]
