"""Writes of the send policy. The reads (and ``send_decide``) live in selectors.py."""

from __future__ import annotations

from django.db import transaction

from channels_app.models.policies import SendPolicy
from channels_app.policies.schemas import PolicyConfig, policy_config_parse
from channels_app.policies.selectors import policy_config_of, policy_row
from console.audit import audit_record
from console.models import Workspace

_COLUMNS = ("promotional_daily_cap", "total_daily_cap", "echo_window_minutes", "ncpr_category")


def policy_update(
    *, workspace: Workspace, data: dict, actor=None, actor_label: str = "", ip: str | None = None
) -> PolicyConfig:
    """Change the workspace's send policy; fields not in ``data`` keep their value.

    Validates first (PolicyError names each bad field, nothing is written), then locks the policy
    row, saves and records an audit entry with before and after in one transaction. A retry with
    the same data writes the same values again (and a second audit entry).
    """
    policy_row(workspace=workspace)
    with transaction.atomic():
        row = SendPolicy.objects.select_for_update().get(workspace=workspace)
        before = policy_config_of(row)
        config = policy_config_parse(before.as_json() | dict(data))
        _apply(row, config, actor=actor, actor_label=actor_label)
        changed = sorted(k for k, v in config.as_json().items() if before.as_json()[k] != v)
        audit_record(
            workspace=workspace,
            actor=actor,
            actor_label=row.updated_by_label,
            action="policies.update",
            target_type="send_policy",
            target_id=row.pk,
            summary=f"Changed send policy: {', '.join(changed) or 'no changes'}",
            before=before.as_json(),
            after=config.as_json(),
            ip=ip,
        )
    return config


def _apply(row: SendPolicy, config: PolicyConfig, *, actor, actor_label: str) -> None:
    values = config.as_json()
    for name in _COLUMNS:
        setattr(row, name, values[name])
    row.send_windows = values["send_windows"]
    row.costs = values["costs"]
    row.updated_by = actor if actor is not None and actor.pk else None
    row.updated_by_label = (actor_label or (actor.get_username() if actor else "system"))[:150]
    row.save()
