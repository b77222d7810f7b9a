"""Roles are Django groups; this module is the single source of which role may do what."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

ROLES = ["admin", "marketing", "operations", "support", "viewer"]

# Permission codenames (declared on console.Membership) granted to each role.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    "admin": {
        "view_customers",
        "edit_customers",
        "manage_api_keys",
        "manage_members",
        "view_audit",
        "manage_settings",
        "edit_journeys",
        "publish_journeys",
        "edit_templates",
        "manage_consent",
        "manage_policies",
        "manage_channels",
        "view_analytics",
    },
    "marketing": {"view_customers", "edit_journeys", "edit_templates", "view_analytics"},
    "operations": {
        "view_customers",
        "edit_customers",
        "view_audit",
        "edit_journeys",
        "publish_journeys",
        "edit_templates",
        "manage_policies",
        "manage_channels",
        "view_analytics",
    },
    "support": {"view_customers", "edit_customers", "manage_consent", "view_audit"},
    "viewer": {"view_customers", "view_analytics"},
}


@transaction.atomic
def roles_sync() -> dict[str, Group]:
    """Create or update the five role groups so they carry exactly their permissions.

    Idempotent: safe to run on every start and from migrations' post-migrate hook.
    """
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="console")}
    groups = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [perms[c] for c in sorted(ROLE_PERMISSIONS[role]) if c in perms]
        group.permissions.set(wanted)
        groups[role] = group
    return groups


def role_permissions(role: str) -> frozenset[str]:
    return frozenset(ROLE_PERMISSIONS.get(role, ()))
