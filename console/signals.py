"""Sign-in events go to the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from console.audit import audit_record, request_ip


def _workspace_of(user):
    membership = user.memberships.select_related("workspace").order_by("id").first()
    return membership.workspace if membership else None


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit_record(
        workspace=_workspace_of(user),
        actor=user,
        action="auth.login",
        target_type="user",
        target_id=user.pk,
        summary=f"{user.get_username()} signed in",
        ip=request_ip(request) if request else None,
    )


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(
            workspace=_workspace_of(user),
            actor=user,
            action="auth.logout",
            target_type="user",
            target_id=user.pk,
            summary=f"{user.get_username()} signed out",
            ip=request_ip(request) if request else None,
        )


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    username = (credentials or {}).get("username", "")[:150]
    user = get_user_model().objects.filter(username=username).first()
    audit_record(
        workspace=_workspace_of(user) if user else None,
        actor=None,
        actor_label=username or "unknown",
        action="auth.login_failed",
        target_type="user",
        target_id=user.pk if user else "",
        summary=f"Failed sign-in for '{username}'",
        ip=request_ip(request) if request else None,
    )
