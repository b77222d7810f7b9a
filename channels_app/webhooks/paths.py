"""The public URLs we hand to providers (status callbacks, IVR actions, Exotel flows).

``SANGAM_PUBLIC_URL`` is the address providers reach us at (e.g. https://sangam.example.in);
signatures are computed over the URL as the provider called it, so it must match exactly.
"""

from __future__ import annotations

import os


def public_base() -> str:
    return os.environ.get("SANGAM_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")


def webhook_url(kind: str, owner_id: int, endpoint: str = "", base: str | None = None) -> str:
    """``/webhooks/<kind>/<account or workspace id>/<endpoint>``."""
    path = f"/webhooks/{kind}/{owner_id}/" + (f"{endpoint}/" if endpoint else "")
    return (base if base is not None else public_base()) + path
