"""Writes of the journey engine (see each module): definitions, enrolment, batch stepping."""

from journeys.services.definitions import (
    JourneyInvalid,
    JourneyStateError,
    journey_create,
    journey_draft_save,
    journey_pause,
    journey_problems,
    journey_publish,
    journey_resume,
    journey_stop,
    runs_move,
    runs_move_preview,
)
from journeys.services.enrolment import Enrolment, events_process, runs_enrol
from journeys.services.segments import (
    date_triggers_sweep,
    segment_enrolment_start,
    segment_enrolment_step,
)
from journeys.services.stepping import runs_advance_due

__all__ = [
    "Enrolment",
    "JourneyInvalid",
    "JourneyStateError",
    "date_triggers_sweep",
    "events_process",
    "journey_create",
    "journey_draft_save",
    "journey_pause",
    "journey_problems",
    "journey_publish",
    "journey_resume",
    "journey_stop",
    "runs_advance_due",
    "runs_enrol",
    "runs_move",
    "runs_move_preview",
    "segment_enrolment_start",
    "segment_enrolment_step",
]
