"""Request middleware: the API body limit and the signed-in user's current workspace."""

from django.conf import settings
from django.http import JsonResponse

from console.roles import role_permissions

SESSION_WORKSPACE = "workspace_id"


def api_body_limit_middleware(get_response):
    """Answer 413 for API bodies over API_MAX_BODY_BYTES before anything reads them."""

    def middleware(request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.API_MAX_BODY_BYTES
            if length > limit:
                return JsonResponse(
                    {
                        "error": "payload_too_large",
                        "detail": f"The body is {length} bytes; the limit is {limit} bytes. "
                        "Split the batch into smaller requests.",
                        "fields": {},
                    },
                    status=413,
                )
        return get_response(request)

    return middleware


def workspace_middleware(get_response):
    """Attach `workspace`, `membership`, `role` and `perms` for a signed-in console user."""

    def middleware(request):
        request.workspace = None
        request.membership = None
        request.role = None
        request.perms = frozenset()
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = list(user.memberships.select_related("workspace", "role").order_by("id"))
            wanted = request.session.get(SESSION_WORKSPACE)
            chosen = next((m for m in memberships if m.workspace_id == wanted), None)
            chosen = chosen or (memberships[0] if memberships else None)
            if chosen is not None:
                request.membership = chosen
                request.workspace = chosen.workspace
                request.role = chosen.role.name
                request.perms = role_permissions(chosen.role.name)
                request.memberships = memberships
        return get_response(request)

    return middleware
