"""Provider accounts, routing, the circuit breaker and adapter construction.

``adapter_for(workspace, account)`` is how the dispatcher and the webhooks get an adapter: the
account's decrypted credentials, or the workspace's simulator settings when ``account`` is None.
The breaker: ``breaker_failure`` counts consecutive transient failures; at the threshold the
account is "open" (degraded) until ``retry_at``, then "half_open": one batch tries, a success
closes it, a failure opens it again for twice as long (capped).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from channels_app.models.providers import (
    ChannelRoute,
    ProviderAccount,
    SimulatorSettings,
)
from channels_app.providers import provider_get
from channels_app.providers.simulator import SimulatorAdapter, SimulatorConfig
from channels_app.providers_console.crypto import secret_decrypt, secret_encrypt, secret_mask
from console.audit import audit_record
from console.models import Workspace

PLAIN_FIELDS = {
    "sms_from", "whatsapp_from", "voice_from", "caller_id", "base_url", "flow_url",
    "api_version", "dlt_entity_id", "phone_number_id", "messaging_service_sid",
}  # fmt: skip
REQUIRED = {
    "twilio": ("account_sid", "auth_token"),
    "meta": ("access_token", "phone_number_id", "app_secret", "verify_token"),
    "exotel": ("api_key", "api_token", "account_sid", "webhook_token"),
}
OPTIONAL = {
    "twilio": ("sms_from", "whatsapp_from", "voice_from", "messaging_service_sid", "base_url"),
    "meta": ("api_version", "base_url"),
    "exotel": ("sms_from", "caller_id", "dlt_entity_id", "flow_url", "base_url"),
}
BREAKER_BASE_S = 30
BREAKER_MAX_S = 600


class AccountInvalid(ValueError):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {v[0]}" for k, v in fields.items()))
        self.fields = fields


def credentials_hint(credentials: dict[str, Any]) -> dict[str, str]:
    return {
        k: (str(v) if k in PLAIN_FIELDS else secret_mask(v))
        for k, v in credentials.items()
        if v not in ("", None)
    }


def _validate(kind: str, credentials: dict[str, Any]) -> dict[str, Any]:
    if kind not in REQUIRED:
        raise AccountInvalid({"kind": [f"Choose one of {', '.join(sorted(REQUIRED))}."]})
    known = set(REQUIRED[kind]) | set(OPTIONAL[kind])
    cleaned = {k: str(v).strip() for k, v in credentials.items() if k in known and str(v).strip()}
    missing = {k: ["Required."] for k in REQUIRED[kind] if k not in cleaned}
    if missing:
        raise AccountInvalid(missing)
    try:
        provider_get(kind)(cleaned).close()
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        key = field if field in known else "credentials"
        raise AccountInvalid({key: [message or str(exc)]}) from exc
    return cleaned


def provider_account_save(
    *,
    workspace: Workspace,
    kind: str,
    name: str,
    credentials: dict[str, Any],
    rate_limit_per_s: float = 10.0,
    account: ProviderAccount | None = None,
    actor=None,
) -> ProviderAccount:
    """Create or update an account. Blank secret fields on update keep the stored value, so the
    form never needs the secrets back."""
    if account is not None:
        credentials = {**secret_decrypt(account.credentials), **{
            k: v for k, v in credentials.items() if str(v).strip()
        }}  # fmt: skip
    cleaned = _validate(kind, credentials)
    if not name.strip():
        raise AccountInvalid({"name": ["Give the account a name, e.g. 'Twilio India'."]})
    if not 0 < rate_limit_per_s <= 1000:
        raise AccountInvalid({"rate_limit_per_s": ["Use a rate between 0.1 and 1000 per second."]})
    row = account or ProviderAccount(workspace=workspace, kind=kind)
    row.name = name.strip()
    row.credentials = secret_encrypt(cleaned)
    row.credentials_hint = credentials_hint(cleaned)
    row.rate_limit_per_s = rate_limit_per_s
    try:
        with transaction.atomic():
            row.save()
            audit_record(
                workspace=workspace, actor=actor, action="provider.saved",
                target_type="provider", target_id=row.pk,
                summary=f"Saved {kind} account '{row.name}' (credentials encrypted)",
            )  # fmt: skip
    except IntegrityError as exc:
        raise AccountInvalid({"name": ["Another account has this name."]}) from exc
    return row


def route_set(*, workspace: Workspace, channel: str, account: ProviderAccount | None, actor=None):
    """Send ``channel`` through ``account`` (None: the simulator)."""
    if account is not None and channel not in provider_get(account.kind).channels:
        raise AccountInvalid({"channel": [f"{account.kind} cannot send {channel}."]})
    with transaction.atomic():
        ChannelRoute.objects.filter(workspace=workspace, channel=channel).delete()
        if account is not None:
            ChannelRoute.objects.create(workspace=workspace, channel=channel, account=account)
        audit_record(
            workspace=workspace, actor=actor, action="provider.route",
            target_type="channel", target_id=channel,
            summary=f"{channel} now goes through {account.name if account else 'the simulator'}",
        )  # fmt: skip


def route_resolve(*, workspace: Workspace, channel: str) -> ProviderAccount | None:
    route = ChannelRoute.objects.filter(workspace=workspace, channel=channel).first()
    return route.account if route else None


def simulator_settings(*, workspace: Workspace) -> SimulatorSettings:
    row = SimulatorSettings.objects.filter(workspace=workspace).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return SimulatorSettings.objects.create(
                workspace=workspace, secret=secrets.token_hex(16)
            )
    except IntegrityError:
        return SimulatorSettings.objects.get(workspace=workspace)


# Settings of ours stored beside SimulatorConfig's fields (e.g. channels the operator plays).
OWN_SIMULATOR_KEYS = ("manual_channels",)


def _planner_fields(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in OWN_SIMULATOR_KEYS}


def simulator_config(*, workspace: Workspace) -> SimulatorConfig:
    row = simulator_settings(workspace=workspace)
    return SimulatorConfig.from_mapping({**_planner_fields(row.config), "secret": row.secret})


def simulator_settings_save(*, workspace: Workspace, config: dict[str, Any], actor=None):
    """Validate through SimulatorConfig (ValueError names the field), then store."""
    SimulatorConfig.from_mapping(_planner_fields(config))
    row = simulator_settings(workspace=workspace)
    row.config = config
    row.save(update_fields=["config", "updated_at"])
    audit_record(
        workspace=workspace, actor=actor, action="simulator.saved", target_type="simulator",
        summary="Simulator settings saved",
    )  # fmt: skip
    return row


def adapter_for(*, workspace: Workspace, account: ProviderAccount | None, timeout_s: float = 10):
    if account is None or account.kind == "simulator":
        return SimulatorAdapter(simulator_config(workspace=workspace))
    return provider_get(account.kind)(secret_decrypt(account.credentials), timeout_s=timeout_s)


def adapter_in_database(account: ProviderAccount | None) -> bool:
    """Whether sends through ``account``'s adapter stay in the database (the simulator: its
    answers are planned outcome rows) rather than call a provider; no adapter is built."""
    kind = "simulator" if account is None else account.kind
    return provider_get(kind).in_database


def adapter_key(workspace_id: int, account: ProviderAccount | None) -> int | tuple[str, int]:
    """What tells adapters apart: the account, or for the simulator without one the workspace
    (its settings are the workspace's)."""
    return account.pk if account else ("simulator", workspace_id)


def account_credentials(account: ProviderAccount) -> dict[str, Any]:
    return secret_decrypt(account.credentials)


# --- circuit breaker ------------------------------------------------------------------------


def breaker_allows(account: ProviderAccount | None, now: datetime) -> bool:
    if account is None or account.breaker_state == "closed":
        return True
    return account.retry_at is None or account.retry_at <= now


def breaker_success(account: ProviderAccount | None) -> None:
    if account is None:
        return
    ProviderAccount.objects.filter(pk=account.pk).exclude(
        breaker_state="closed", consecutive_failures=0
    ).update(breaker_state="closed", consecutive_failures=0, retry_at=None, degraded_reason="")


def breaker_failure(
    account: ProviderAccount | None, reason: str, *, now: datetime, force: bool = False
) -> None:
    """One transient failure (``force``: an auth failure opens the breaker at once)."""
    if account is None:
        return
    ProviderAccount.objects.filter(pk=account.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    account.refresh_from_db()
    if not force and account.consecutive_failures < account.breaker_threshold:
        return
    over = max(0, account.consecutive_failures - account.breaker_threshold)
    wait = min(BREAKER_MAX_S, BREAKER_BASE_S * 2**over)
    ProviderAccount.objects.filter(pk=account.pk).update(
        breaker_state="open",
        retry_at=now + timedelta(seconds=wait),
        degraded_reason=reason[:300],
    )


def breaker_state_now(account: ProviderAccount, now: datetime | None = None) -> str:
    """closed / open / half_open as the console shows it."""
    now = now or timezone.now()
    if account.breaker_state == "open" and account.retry_at and account.retry_at <= now:
        return "half_open"
    return account.breaker_state
