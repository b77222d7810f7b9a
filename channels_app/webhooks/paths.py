"""The public URLs we hand to providers (status callbacks, IVR actions, Exotel flows).

``settings.PUBLIC_URL`` (``SANGAM_PUBLIC_URL``) is the address providers reach us at (e.g.
https://sangam.example.in); signatures are computed over the URL as the provider called it, so it
must match exactly.
"""

from __future__ import annotations

from django.conf import settings


def public_base() -> str:
    return settings.PUBLIC_URL.rstrip("/")


def webhook_url(kind: str, owner_id: int, endpoint: str = "", base: str | None = None) -> str:
    """``/webhooks/<kind>/<account or workspace id>/<endpoint>``."""
    path = f"/webhooks/{kind}/{owner_id}/" + (f"{endpoint}/" if endpoint else "")
    return (base if base is not None else public_base()) + path
