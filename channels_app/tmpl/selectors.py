"""Reads for templates. The outbox and the policy check use ``template_version_approved``."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from channels_app.models import DltSettings, Template, TemplateVariable, TemplateVersion
from channels_app.tmpl.catalogue import BUILTIN_VARIABLES, CatalogueVariable
from console.models import Workspace


def variable_catalogue(*, workspace: Workspace) -> dict[str, CatalogueVariable]:
    """Every variable a template in ``workspace`` may use: built-ins, then the workspace's own."""
    catalogue = {v.name: v for v in BUILTIN_VARIABLES}
    for row in TemplateVariable.objects.filter(workspace=workspace).order_by("name"):
        catalogue.setdefault(
            row.name,
            CatalogueVariable(row.name, row.type, "workspace", row.sample, row.description),
        )
    return catalogue


def dlt_settings_get(*, workspace: Workspace) -> DltSettings:
    """The workspace's DLT settings; an unsaved empty row when none were entered yet."""
    found = DltSettings.objects.filter(workspace=workspace).first()
    return found or DltSettings(workspace=workspace, entity_id="", whitelisted_domains=[])


def _latest(field: str) -> Subquery:
    rows = TemplateVersion.objects.filter(template=OuterRef("pk")).order_by("-number")
    return Subquery(rows.values(field)[:1])


def template_list(
    *,
    workspace: Workspace,
    channel: str = "",
    status: str = "",
    language: str = "",
    search: str = "",
    include_archived: bool = False,
) -> QuerySet[Template]:
    """Templates of ``workspace`` with their latest version's number, status and languages.

    ``status`` and ``language`` filter on the latest version; ``search`` matches key or name.
    """
    qs = Template.objects.filter(workspace=workspace).annotate(
        latest_number=_latest("number"),
        latest_status=_latest("status"),
        latest_languages=_latest("languages"),
    )
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    if channel:
        qs = qs.filter(channel=channel)
    if status:
        qs = qs.filter(latest_status=status)
    if language:
        qs = qs.filter(latest_languages__contains=f",{language},")
    if search.strip():
        qs = qs.filter(Q(key__icontains=search.strip()) | Q(name__icontains=search.strip()))
    return qs.order_by("name", "id")


def template_get(*, workspace: Workspace, template_id: int) -> Template:
    """The template with this id in ``workspace``; raises Template.DoesNotExist otherwise."""
    return Template.objects.get(workspace=workspace, pk=template_id)


def template_get_by_key(*, workspace: Workspace, key: str) -> Template | None:
    return Template.objects.filter(workspace=workspace, key=key).first()


def template_versions(*, template: Template) -> QuerySet[TemplateVersion]:
    return template.versions.select_related("created_by").order_by("-number")


def template_version_latest(*, template: Template) -> TemplateVersion | None:
    return template.versions.order_by("-number").first()


def template_version_get(*, template: Template, version_id: int) -> TemplateVersion:
    return template.versions.get(pk=version_id)


def template_version_approved(
    *, template: Template, language: str | None = None
) -> TemplateVersion | None:
    """The newest approved version, preferring one that has a variant in ``language``.

    Returns None when no version is approved (the sender must then block with
    ``template_not_approved``). An archived template has no sendable version.
    """
    if template.archived_at is not None:
        return None
    approved = template.versions.filter(status="approved").order_by("-number")
    if language:
        with_language = approved.filter(languages__contains=f",{language},").first()
        if with_language is not None:
            return with_language
    return approved.first()
