from django.conf import settings


def shell(request) -> dict:
    """What the operator shell (navigation rail, top bar) needs on every page."""
    return {
        "workspace": getattr(request, "workspace", None),
        "role": getattr(request, "role", None),
        "perms_codes": getattr(request, "perms", frozenset()),
        "memberships": getattr(request, "memberships", []),
        "debug": settings.DEBUG,
    }
