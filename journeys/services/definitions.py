"""Journey definitions: create/import, drafts, publishing versions, pause, resume, stop, run moves.

Publishing validates the draft against the workspace's templates and webhook allow-list and
refuses with the problems listed; a version is immutable once written. Pause holds runs where they
are (the workers only claim runs of live journeys; their timers keep their place and inputs queue
up); resume lets them go on; stop ends every open run with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from console.audit import audit_record
from console.live import live_publish
from console.models import Workspace
from journeys.clock import clock_now
from journeys.engine import Problem, journey_export, journey_parse, journey_validate, run_stop
from journeys.models import OPEN_RUN_STATUSES, Journey, JourneyVersion, Run
from journeys.selectors import templates_info, webhook_hosts
from journeys.services.stepping import Work, customer_views, graph_of, works_persist

STOP_CHUNK = 500


class JourneyInvalid(ValueError):
    """Refused: ``problems`` are the engine's validation problems (errors block)."""

    def __init__(self, problems: list[Problem], detail: str = "") -> None:
        self.problems = problems
        super().__init__(detail or "; ".join(p.message for p in problems if p.severity == "error"))

    def fields(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            if problem.severity != "error":
                continue
            name = ".".join(p for p in ("graph", _node_field(problem)) if p)
            out.setdefault(name, []).append(problem.message)
        return out


def _node_field(problem: Problem) -> str:
    if problem.node_id:
        return f"nodes.{problem.node_id}" + (f".{problem.field}" if problem.field else "")
    return problem.field or ""


class JourneyStateError(ValueError):
    """The journey is not in a status that allows this action."""


def journey_problems(*, workspace: Workspace, graph: Mapping[str, Any]) -> list[Problem]:
    return journey_validate(
        graph, templates=templates_info(workspace=workspace), webhook_hosts=webhook_hosts(workspace)
    )


def journey_create(
    *, workspace: Workspace, name: str, graph: Mapping[str, Any] | None = None, actor=None,
    description: str = "", gallery_slug: str = "",
) -> Journey:  # fmt: skip
    """Create a draft journey (from imported JSON when ``graph`` is given, which must parse)."""
    name = name.strip()
    if not name:
        raise JourneyInvalid(
            [Problem(None, "name", "name_missing", "name: give the journey a name")]
        )
    draft = dict(graph) if graph else {"format": 1, "nodes": [], "edges": []}
    if graph:
        try:
            draft = journey_export(journey_parse(graph))
        except ValidationError:
            raise JourneyInvalid(journey_validate(graph)) from None
    with transaction.atomic():
        journey = Journey.objects.create(
            workspace=workspace, name=name, description=description, draft=draft,
            created_by=actor if actor is not None and actor.pk else None, gallery_slug=gallery_slug,
        )  # fmt: skip
        _audit(journey, actor, "journey.create", f"Created journey '{name}'")
    return journey


def journey_draft_save(
    *, journey: Journey, graph: Mapping[str, Any], revision: int, actor=None
) -> Journey:
    """Save the draft if nobody saved since ``revision``; raises JourneyStateError on conflict."""
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.draft_revision != revision:
            raise JourneyStateError(
                f"draft: someone saved revision {locked.draft_revision} after your revision "
                f"{revision}; reload to see their changes"
            )
        locked.draft, locked.draft_revision = dict(graph), revision + 1
        locked.save(update_fields=["draft", "draft_revision", "updated_at"])
    return locked


def journey_publish(
    *, journey: Journey, actor=None, note: str = "", mapping: Mapping[str, str] | None = None
) -> JourneyVersion:
    """Validate the draft and publish it as the next version; new entries go to it.

    Open runs stay on their version, unless ``mapping`` (old node id -> new node id) is given:
    runs waiting at a mapped node move to the new version at the mapped node. Raises
    JourneyInvalid listing the problems when the draft has errors.
    """
    problems = journey_problems(workspace=journey.workspace, graph=journey.draft)
    if any(p.severity == "error" for p in problems):
        raise JourneyInvalid(problems)
    graph = journey_export(journey_parse(journey.draft))
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.status == "archived":
            raise JourneyStateError("status: an archived (stopped) journey cannot be published")
        number = (locked.current_version or 0) + 1
        version = JourneyVersion.objects.create(
            journey=locked, number=number, graph=graph, note=note[:300],
            published_at=clock_now(locked.workspace),
            published_by=actor if actor is not None and actor.pk else None,
        )  # fmt: skip
        locked.current_version = number
        if locked.status == "draft":
            locked.status = "live"
        locked.save(update_fields=["current_version", "status", "updated_at"])
        moved = runs_move(journey=locked, version=version, mapping=mapping) if mapping else 0
        _audit(locked, actor, "journey.publish", f"Published version {number}"
               + (f", moved {moved} runs" if moved else ""), after={"note": note})  # fmt: skip
        live_publish(f"journey:{locked.pk}", kind="definition")
    _segment_start(version)
    return version


def _segment_start(version: JourneyVersion) -> None:
    graph = graph_of(version.pk, version.graph)
    node = graph.entry_node()
    if node is not None and node.kind == "trigger.segment":
        from journeys.services.segments import segment_enrolment_start

        segment_enrolment_start(version=version)


def runs_move_preview(*, journey: Journey, mapping: Mapping[str, str]) -> dict[str, int]:
    """How many open runs sit at each mapped node (old versions), before the operator confirms."""
    counts = {node: 0 for node in mapping}
    rows = Run.objects.filter(
        journey=journey, status__in=OPEN_RUN_STATUSES, node_id__in=list(mapping)
    ).values_list("node_id", flat=True)
    for node_id in rows:
        counts[node_id] += 1
    return counts


def runs_move(*, journey: Journey, version: JourneyVersion, mapping: Mapping[str, str]) -> int:
    """Move open runs at mapped nodes to ``version`` (same node kind only; others stay)."""
    new_graph = graph_of(version.pk, version.graph)
    moved = 0
    runs = Run.objects.filter(
        journey=journey, status__in=OPEN_RUN_STATUSES, node_id__in=list(mapping)
    ).exclude(version=version)
    for run in runs.select_related("version"):
        old_node = graph_of(run.version_id, run.version.graph).node(run.node_id)
        target = new_graph.node(mapping[run.node_id])
        if old_node is None or target is None or old_node.kind != target.kind:
            continue
        state = dict(run.state)
        attempts = dict(state.get("attempts") or {})
        attempts[target.id] = attempts.pop(run.node_id, 1)
        state.update(node_id=target.id, attempts=attempts)
        Run.objects.filter(pk=run.pk).update(version=version, node_id=target.id, state=state)
        moved += 1
    return moved


def journey_pause(*, journey: Journey, actor=None) -> Journey:
    return _status_change(journey, actor, {"live"}, "paused", "journey.pause", "Paused")


def journey_resume(*, journey: Journey, actor=None) -> Journey:
    """Resume; runs whose timers came due meanwhile are swept at once (their inputs in order)."""
    return _status_change(journey, actor, {"paused"}, "live", "journey.resume", "Resumed")


def _status_change(journey, actor, allowed: set[str], status: str, action: str, verb: str):
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        if locked.status not in allowed:
            raise JourneyStateError(
                f"status: the journey is {locked.status}; only a {' or '.join(sorted(allowed))} "
                f"journey can be {verb.lower()}"
            )
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        _audit(locked, actor, action, f"{verb} '{locked.name}'")
        live_publish(f"journey:{locked.pk}", kind="definition")
    return locked


def journey_stop(*, journey: Journey, actor=None, reason: str = "journey stopped") -> int:
    """Archive the journey and end every open run as exited with ``reason``, in chunks (each one
    transaction). Returns the number of runs ended."""
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        locked.status = "archived"
        locked.save(update_fields=["status", "updated_at"])
        _audit(locked, actor, "journey.stop", f"Stopped '{locked.name}': {reason}")
    ended = 0
    while True:
        with transaction.atomic():
            runs = list(
                Run.objects.select_for_update()
                .filter(journey=locked, status__in=OPEN_RUN_STATUSES)
                .select_related("version", "customer", "workspace")[:STOP_CHUNK]
            )
            if not runs:
                break
            _runs_stop(runs, reason)
            ended += len(runs)
    live_publish(f"journey:{locked.pk}", kind="definition")
    return ended


def _runs_stop(runs: list[Run], reason: str) -> None:
    from journeys.engine import RunState

    views = customer_views([run.customer for run in runs], clock_now(runs[0].workspace_id))
    works = []
    for run in runs:
        graph = graph_of(run.version_id, run.version.graph)
        now = clock_now(run.workspace_id)
        state = RunState.model_validate(run.state)
        advance = run_stop(graph, state, now=now, reason=f"stopped: {reason}")
        work = Work(run=run, graph=graph, state=advance.state, now=now,
                    customer=views[run.customer_id], attempts_before=dict(state.attempts),
                    status_before=state.status, steps=list(advance.steps))  # fmt: skip
        works.append(work)
    works_persist(works)


def _audit(journey: Journey, actor, action: str, summary: str, after: dict | None = None) -> None:
    audit_record(
        workspace=journey.workspace, actor=actor, action=action, target_type="journey",
        target_id=journey.pk, summary=summary[:300], after=after,
    )  # fmt: skip
