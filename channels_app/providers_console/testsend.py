""" "Send test message": one real send through an account, outside the outbox (no customer)."""

from __future__ import annotations

import secrets

from channels_app.models.providers import ProviderAccount
from channels_app.providers.base import OutboundMessage, ProviderError, VoiceFields
from channels_app.providers_console.crypto import CredentialsUnreadable
from channels_app.providers_console.services import adapter_for

TEST_TEXT = "Sangam test message: your provider settings work."


def provider_test_send(*, account: ProviderAccount, to: str, channel: str) -> tuple[bool, str]:
    """(ok, what happened, readable) for the settings page."""
    try:
        adapter = adapter_for(workspace=account.workspace, account=account, timeout_s=8)
        msg = OutboundMessage(
            channel=channel, to=to.strip(), idempotency_key=f"test:{secrets.token_hex(6)}",
            body=TEST_TEXT, voice=VoiceFields(prompt=TEST_TEXT),
        )  # fmt: skip
        result = adapter.send(msg)
    except CredentialsUnreadable as exc:
        return False, str(exc)
    except ValueError as exc:
        return False, f"Cannot send: {exc}"
    except ProviderError as exc:
        return False, f"{account.kind} refused the test: {exc.reason}"
    return True, f"{account.kind} accepted the test message ({result.provider_id})."
