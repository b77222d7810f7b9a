"""Encryption at rest for provider credentials: Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from ``SANGAM_ENCRYPTION_KEY`` (a urlsafe base64 Fernet key); without it one is
derived from SECRET_KEY with HKDF-SHA256, so the embedded mode works out of the box. Rotating
SECRET_KEY without setting SANGAM_ENCRYPTION_KEY makes stored credentials unreadable (they must be
entered again), which the settings page reports per account instead of failing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class CredentialsUnreadable(ValueError):
    """Stored credentials cannot be decrypted with the current key."""


def _key() -> bytes:
    explicit = settings.ENCRYPTION_KEY
    if explicit:
        return explicit.encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sangam-credentials", info=b"fernet")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


def secret_encrypt(data: dict[str, Any]) -> str:
    return Fernet(_key()).encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def secret_decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(Fernet(_key()).decrypt(token.encode()))
    except (InvalidToken, ValueError) as exc:
        raise CredentialsUnreadable(
            "The stored credentials cannot be read with the current encryption key; "
            "enter them again."
        ) from exc


def secret_mask(value: Any) -> str:
    """All but the last 4 characters hidden; short values entirely."""
    text = str(value)
    if len(text) <= 4:
        return "••••"
    return "••••" + text[-4:]
