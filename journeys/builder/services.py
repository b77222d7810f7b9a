"""Writes of the builder. Drafts, versions and journey status go through journeys.services
(``journey_draft_save`` checks the revision under a row lock, ``journey_publish`` validates and
writes the version); this module adds the canvas's view of a save, the inspector's node edit,
publication requests with their decision, duplicating, and the workspace's approval rule."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from console.audit import audit_record
from console.models import Workspace
from journeys.builder import selectors
from journeys.builder.models import BuilderSettings, PublishRequest
from journeys.engine import Problem
from journeys.models import Journey, JourneyVersion
from journeys.services import (
    JourneyInvalid,
    JourneyStateError,
    journey_create,
    journey_draft_save,
    journey_publish,
)

MAX_NODES = 1000


@dataclass
class SaveResult:
    journey: Journey
    revision: int
    problems: list[Problem]
    infos: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "problems": selectors.problems_json(self.problems),
            "nodes": self.infos,
        }


class DraftRefused(ValueError):
    """The posted graph is not a journey graph at all (it is never saved)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def builder_draft_save(
    *, journey: Journey, graph: Mapping[str, Any], revision: int, actor=None
) -> SaveResult:
    """Save the canvas's graph if ``revision`` is still the draft's; validate once.

    Raises JourneyStateError (a conflict: someone saved since) or DraftRefused (not a graph in
    the documented format). Nothing is written in either case.
    """
    version = selectors.graph_parse(graph)
    if version is None:
        raise DraftRefused(selectors.journey_validate(graph))
    if len(version.nodes) > MAX_NODES:
        raise DraftRefused(
            [
                Problem(
                    None,
                    "nodes",
                    "too_many_nodes",
                    f"nodes: at most {MAX_NODES} nodes in one journey",
                )
            ]
        )
    saved = journey_draft_save(journey=journey, graph=graph, revision=revision, actor=actor)
    problems = selectors.builder_problems(workspace=journey.workspace, graph=saved.draft)
    infos = selectors.node_infos(saved.draft, problems)
    return SaveResult(saved, saved.draft_revision, problems, infos)


def builder_node_save(
    *, journey: Journey, node_id: str, config: dict[str, Any], label: str, revision: int, actor=None
) -> SaveResult:
    """Replace one node's config and label in the draft (the inspector's save)."""
    graph = copy.deepcopy(journey.draft or {})
    for node in graph.get("nodes", []):
        if node.get("id") == node_id:
            node["config"], node["label"] = config, label
            break
    else:
        raise KeyError(f"node {node_id!r} is not in the saved draft; wait for the autosave")
    return builder_draft_save(journey=journey, graph=graph, revision=revision, actor=actor)


def builder_publish(
    *, journey: Journey, revision: int, actor=None, note: str = ""
) -> JourneyVersion:
    """Publish the draft the person saw (``revision``); a newer draft is a conflict."""
    if journey.draft_revision != revision:
        raise JourneyStateError(
            f"draft: it changed since you looked (revision {revision} -> "
            f"{journey.draft_revision}); reload and check before publishing"
        )
    _refuse_invalid(journey)
    return journey_publish(journey=journey, actor=actor, note=note)


def _refuse_invalid(journey: Journey) -> None:
    problems = selectors.builder_problems(workspace=journey.workspace, graph=journey.draft)
    if any(p.severity == "error" for p in problems):
        raise JourneyInvalid(problems)


def publish_request_create(*, journey: Journey, actor, note: str = "") -> PublishRequest:
    """Ask for the current draft to be published; refused while the draft has errors or
    another request is pending."""
    _refuse_invalid(journey)
    with transaction.atomic():
        Journey.objects.select_for_update().get(pk=journey.pk)
        if PublishRequest.objects.filter(journey=journey, status="pending").exists():
            raise JourneyStateError("request: one is already pending; wait for its decision")
        request = PublishRequest.objects.create(
            workspace=journey.workspace,
            journey=journey,
            revision=journey.draft_revision,
            note=note[:300],
            requested_by=actor,
        )
        _audit(
            journey,
            actor,
            "journey.publish_request",
            f"Asked to publish revision {request.revision}" + (f": {note}" if note else ""),
        )
    return request


def publish_request_decide(
    *, request: PublishRequest, actor, approve: bool, comment: str = ""
) -> PublishRequest:
    """Approve (publishes the requested revision, if the draft is unchanged) or reject (a
    comment is required so the requester knows what to fix)."""
    comment = comment.strip()
    if request.status != "pending":
        raise JourneyStateError(f"request: already {request.status}")
    if not approve and not comment:
        raise ValueError("comment: say what to change before it can be published")
    journey = Journey.objects.get(pk=request.journey_id)
    version = None
    if approve:
        if journey.draft_revision != request.revision:
            raise JourneyStateError(
                f"request: the draft changed since it was requested (revision {request.revision}"
                f" -> {journey.draft_revision}); reject it and ask for a new request"
            )
        note = request.note + (f" (approved: {comment})" if comment else "")
        version = journey_publish(journey=journey, actor=actor, note=note)
    PublishRequest.objects.filter(pk=request.pk).update(
        status="approved" if approve else "rejected",
        decided_by=actor,
        decided_at=timezone.now(),
        comment=comment[:500],
        version=version,
    )
    verb = "Approved" if approve else "Rejected"
    _audit(
        journey,
        actor,
        "journey.publish_decision",
        f"{verb} publication request {request.pk}" + (f": {comment}" if comment else ""),
    )
    request.refresh_from_db()
    return request


def builder_duplicate(*, journey: Journey, actor=None) -> Journey:
    return journey_create(
        workspace=journey.workspace,
        name=f"{journey.name} (copy)",
        graph=journey.draft or None,
        actor=actor,
        description=journey.description,
    )


def builder_settings_save(*, workspace: Workspace, require_approval: bool, actor=None) -> None:
    BuilderSettings.objects.update_or_create(
        workspace=workspace, defaults={"require_approval": require_approval}
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="builder.settings",
        target_type="workspace",
        target_id=workspace.pk,
        summary=f"Publication approval {'required' if require_approval else 'not required'}",
    )


def _audit(journey: Journey, actor, action: str, summary: str) -> None:
    audit_record(
        workspace=journey.workspace,
        actor=actor,
        action=action,
        target_type="journey",
        target_id=journey.pk,
        summary=summary[:300],
    )
