"""One HTTP call to a provider, with the failure modes every adapter shares mapped to typed errors.

Adapters own their 4xx bodies (``on_client_error``); this module owns the rest: a broken
connection before anything was written is safe to retry, a timeout or a 5xx is not (the request
may have been processed), 429 honours ``Retry-After`` (seconds or an HTTP date).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import httpx

from channels_app.providers.base import AuthFailed, RateLimited, TransientError

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRY_AFTER_S = 1.0


class LazyClient:
    """An ``httpx.Client`` made on first use: an adapter built only to check a webhook's
    signature never pays for the client's TLS context (about 30 ms of CPU)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._client: httpx.Client | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = httpx.Client(**self._options)
        return getattr(self._client, name)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def http_client(base_url: str, *, timeout_s: float, auth: Any = None, headers: Any = None):
    """A client with an explicit timeout on every phase (connect, read, write, pool)."""
    return LazyClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s),
        auth=auth,
        headers=headers,
        follow_redirects=False,
    )


def retry_after_seconds(value: str | None, default: float = DEFAULT_RETRY_AFTER_S) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def provider_request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    provider: str,
    on_client_error: Callable[[httpx.Response], NoReturn],
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; return the 2xx response or raise a ``ProviderError`` subclass."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.ConnectError as exc:
        raise TransientError(
            f"could not connect to {provider}: {exc}", maybe_sent=False, provider=provider
        ) from exc
    except httpx.TimeoutException as exc:
        raise TransientError(
            f"{provider} did not answer in time ({type(exc).__name__}); outcome unknown",
            provider=provider,
        ) from exc
    except httpx.TransportError as exc:
        raise TransientError(
            f"connection to {provider} broke: {exc}; outcome unknown", provider=provider
        ) from exc
    if response.is_success:
        return response
    if response.status_code == 429:
        raise RateLimited(
            retry_after_seconds(response.headers.get("Retry-After")),
            provider=provider,
            raw=json_or_text(response),
        )
    if response.status_code >= 500:
        raise TransientError(
            f"{provider} answered {response.status_code}; outcome unknown",
            status_code=response.status_code,
            provider=provider,
            raw=json_or_text(response),
        )
    on_client_error(response)
    raise AssertionError("on_client_error must raise")  # pragma: no cover


def json_or_text(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"text": response.text[:2000]}
    return data if isinstance(data, dict) else {"data": data}


def auth_failed(provider: str, response: httpx.Response, detail: str) -> AuthFailed:
    return AuthFailed(
        f"{provider} refused the credentials ({response.status_code}): {detail}. "
        "Check the account id and token in Channels settings.",
        provider=provider,
        raw=json_or_text(response),
    )
