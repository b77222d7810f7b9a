"""Reads for journeys: lists with counters, a journey's versions and per-node counts, runs of a
customer, a run's path with each send's policy decision, stuck runs, and what validation needs
from the templates capability."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from console.models import Customer, Workspace
from journeys.engine.validate import TemplateInfo
from journeys.models import (
    OPEN_RUN_STATUSES,
    EngineSettings,
    EnrolmentJob,
    Journey,
    JourneyVersion,
    NodeCounter,
    Run,
    Step,
)

# A waiting run whose wake-up is this far behind the clock should have moved: something is stuck.
STUCK_AFTER = timedelta(minutes=10)


def templates_info(*, workspace: Workspace) -> dict[str, TemplateInfo]:
    """Key -> what journey validation needs (channel, category, approval, variables used)."""
    from channels_app.models import Template, TemplateVersion
    from channels_app.placeholders import placeholder_names

    infos: dict[str, TemplateInfo] = {}
    templates = Template.objects.filter(workspace=workspace, archived_at__isnull=True)
    latest: dict[int, TemplateVersion] = {}
    approved: set[int] = set()
    versions = TemplateVersion.objects.filter(template__in=templates).order_by("number")
    for version in versions:
        latest[version.template_id] = version
        if version.status == "approved":
            approved.add(version.template_id)
    for template in templates:
        version = latest.get(template.pk)
        fields = version.fields if version else {}
        category = template.purpose
        if template.channel == "whatsapp":
            category = str(fields.get("category") or "utility").lower()
        status = "approved" if template.pk in approved else (version.status if version else "none")
        names: list[str] = []
        for variant in (version.variants if version else {}).values():
            names += _variant_names(template.channel, variant, placeholder_names)
        infos[template.key] = TemplateInfo(
            template.channel, category, status, tuple(dict.fromkeys(names))
        )
    return infos


def _variant_names(channel: str, variant: dict, placeholder_names) -> list[str]:
    if channel == "whatsapp":
        mapped = [variant.get("header_variable")] if variant.get("header_variable") else []
        return mapped + list((variant.get("body_variables") or {}).values())
    keys = ("body",) if channel == "sms" else ("prompt", "no_input_prompt", "invalid_prompt")
    return [n for key in keys for n in placeholder_names(variant.get(key) or "", style="named")]


def webhook_hosts(workspace: Workspace | int) -> list[str]:
    workspace_id = getattr(workspace, "pk", workspace)
    row = EngineSettings.objects.filter(workspace_id=workspace_id).values("webhook_hosts").first()
    return list(row["webhook_hosts"]) if row else []


def engine_settings(workspace: Workspace) -> EngineSettings:
    return EngineSettings.objects.get_or_create(workspace=workspace)[0]


# --- journeys ----------------------------------------------------------------------------------


@dataclass
class JourneyRow:
    journey: Journey
    enrolled: int
    completed: int
    ended: int

    @property
    def active(self) -> int:
        return max(0, self.enrolled - self.ended)

    @property
    def completion(self) -> float | None:
        return round(100 * self.completed / self.enrolled, 1) if self.enrolled else None


def journey_list(*, workspace: Workspace) -> list[JourneyRow]:
    """Journeys with enrolment and completion from the counters (no scan of runs)."""
    journeys = list(Journey.objects.filter(workspace=workspace).order_by("status", "name"))
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = NodeCounter.objects.filter(journey__in=journeys, node_id="").values_list(
        "journey_id", "metric", "count"
    )
    for journey_id, metric, count in rows:
        totals[journey_id][metric.removeprefix("holdout:")] += count
    out = []
    for journey in journeys:
        t = totals[journey.pk]
        ended = sum(v for k, v in t.items() if k.startswith("ended:"))
        out.append(JourneyRow(journey, t["enrolled"], t["ended:completed"], ended))
    return out


def journey_get(*, workspace: Workspace, journey_id: int) -> Journey:
    return Journey.objects.get(workspace=workspace, pk=journey_id)


def journey_versions(*, journey: Journey) -> QuerySet[JourneyVersion]:
    return journey.versions.select_related("published_by").order_by("-number")


def node_counters(*, journey: Journey, version_number: int | None = None) -> dict[str, dict]:
    """Node id -> {entered, left, here, ports: {port: n}} (all versions unless one is named)."""
    qs = NodeCounter.objects.filter(journey=journey).exclude(node_id="")
    if version_number is not None:
        qs = qs.filter(version_number=version_number)
    out: dict[str, dict] = defaultdict(lambda: {"entered": 0, "left": 0, "ports": {}})
    for node_id, metric, count in qs.values_list("node_id", "metric", "count"):
        entry = out[node_id]
        if metric.startswith("port:"):
            port = metric[5:]
            entry["ports"][port] = entry["ports"].get(port, 0) + count
        elif metric in ("entered", "left"):
            entry[metric] += count
    for entry in out.values():
        entry["here"] = max(0, entry["entered"] - entry["left"])
    return dict(out)


def journey_totals(*, journey: Journey) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    rows = NodeCounter.objects.filter(journey=journey, node_id="").values_list("metric", "count")
    for metric, count in rows:
        totals[metric] += count
    return dict(totals)


def enrolment_latest(*, journey: Journey) -> EnrolmentJob | None:
    return journey.enrolments.order_by("-id").first()


def stuck_runs(*, journey: Journey, now: datetime, limit: int = 20) -> list[tuple[Run, str]]:
    """Open runs that should have moved: a wake-up far in the past, or active with no wake-up."""
    late = Q(status="waiting", wake_at__lt=now - STUCK_AFTER)
    lost = Q(status="waiting", wake_at__isnull=True) | Q(status="active", due_at__isnull=True)
    active_old = Q(status="active", due_at__lt=now - STUCK_AFTER)
    qs = Run.objects.filter(journey=journey).filter(late | lost | active_old)
    found = []
    for run in qs.select_related("customer").order_by("wake_at")[:limit]:
        found.append((run, _stuck_reason(run, journey, now)))
    return found


def _stuck_reason(run: Run, journey: Journey, now: datetime) -> str:
    if journey.status == "paused":
        return "the journey is paused: runs hold until it resumes"
    if run.wake_at is None and run.status == "waiting":
        return "waiting without a wake-up time (should not happen: report it)"
    if run.status == "active":
        return "entered a node but no worker advanced it: is the worker (qcluster) running?"
    behind = now - run.wake_at
    return (
        f"wake-up was due {int(behind.total_seconds() // 60)} min ago at {run.node_id}: "
        "is the worker (qcluster) running and the sweep scheduled?"
    )


# --- runs --------------------------------------------------------------------------------------


def runs_of_customer(*, customer: Customer, limit: int = 50) -> QuerySet[Run]:
    return (
        Run.objects.filter(customer=customer)
        .select_related("journey", "version")
        .order_by("-entered_at", "-id")[:limit]
    )


def run_get(*, workspace: Workspace, run_id: int) -> Run:
    return Run.objects.select_related("journey", "version", "customer").get(
        workspace=workspace, pk=run_id
    )


def run_steps(*, run: Run) -> list[Step]:
    return list(run.steps.order_by("left_at", "id"))


def run_messages(*, run: Run) -> list:
    """The outbox rows this run asked for, with their policy decisions."""
    from channels_app.models.outbox import Message

    return list(Message.objects.filter(workspace_id=run.workspace_id, run_id=run.pk).order_by("id"))


def runs_open_count(*, journey: Journey) -> int:
    return Run.objects.filter(journey=journey, status__in=OPEN_RUN_STATUSES).count()
