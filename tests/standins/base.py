"""Threaded HTTP stand-ins on 127.0.0.1: the shared server, request log, scripted faults, a sink.

A provider stand-in subclasses ``StandinServer`` and implements ``route(request) -> Reply`` (and
``error_reply`` for its error body shape). Tests script faults for the next requests:

- ``rate_limit``      429 with ``Retry-After`` (nothing is created)
- ``server_error``    500 before anything is created
- ``create_then_500`` the request is processed (message created) but the answer is a 500
- ``hang``            the answer is held ``hang_s`` seconds (longer than the client's timeout),
                      then the request is processed anyway, as a slow real provider would
- ``error``           the provider's own error body with ``status`` and ``code``
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels_app.providers.base import WebhookRequest

FAULT_KINDS = ("rate_limit", "server_error", "create_then_500", "hang", "error")


@dataclass
class Recorded:
    """One request as the stand-in received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    url: str = ""

    @property
    def form_lists(self) -> dict[str, list[str]]:
        if "form" not in self.headers.get("content-type", ""):
            return {}
        return parse_qs(self.body.decode(), keep_blank_values=True)

    @property
    def form(self) -> dict[str, str]:
        """Form fields, first value of each (see ``form_lists`` for repeated names)."""
        return {k: v[0] for k, v in self.form_lists.items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def params(self) -> dict[str, str]:
        return {**{k: v[0] for k, v in self.query.items()}, **self.form}

    def as_webhook(self) -> WebhookRequest:
        """What our webhook view hands an adapter for this request."""
        return WebhookRequest(
            url=self.url,
            method=self.method,
            headers=self.headers,
            raw_body=self.body,
            form=self.form,
        )


@dataclass
class Reply:
    status: int
    body: Any = None  # dict -> JSON, str/bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        return (self.body or "").encode(), "text/plain; charset=utf-8"


@dataclass
class Fault:
    kind: str
    retry_after: str = "2"
    status: int = 400
    code: str = ""
    message: str = ""
    hang_s: float = 1.5

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind: use one of {FAULT_KINDS}")


def _handler_for(owner: StandinServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                url=f"http://{self.headers.get('Host', '')}{self.path}",
            )
            reply = owner.dispatch(request)
            payload, content_type = reply.encoded()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.pop("Content-Type", content_type))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); the request was still processed

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class StandinServer:
    """Base stand-in: serve ``route`` on a random 127.0.0.1 port inside a ``with`` block."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.faults: deque[Fault] = deque()
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self.url = ""

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> StandinServer:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # --- scripting ------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, kind: str = "server_error", **options: Any) -> None:
        with self.lock:
            for _ in range(n):
                self.faults.append(Fault(kind, **options))

    def requests_to(self, path_suffix: str, method: str = "POST") -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    def dispatch(self, request: Recorded) -> Reply:
        with self.lock:
            self.requests.append(request)
            fault = self.faults.popleft() if self.faults else None
        if fault is None:
            return self._route_locked(request)
        if fault.kind == "rate_limit":
            return self.rate_limit_reply(fault)
        if fault.kind == "server_error":
            return self.server_error_reply()
        if fault.kind == "create_then_500":
            self._route_locked(request)
            return self.server_error_reply()
        if fault.kind == "hang":
            self.stopping.wait(fault.hang_s)
            return self._route_locked(request)
        return self.error_reply(fault.status, fault.code, fault.message)

    def _route_locked(self, request: Recorded) -> Reply:
        with self.lock:
            return self.route(request)

    # --- for subclasses -------------------------------------------------------------------------

    def route(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def error_reply(self, status: int, code: str, message: str) -> Reply:
        return Reply(status, {"error": code, "message": message})

    def rate_limit_reply(self, fault: Fault) -> Reply:
        reply = self.error_reply(429, "", "Too Many Requests")
        reply.headers["Retry-After"] = fault.retry_after
        return reply

    def server_error_reply(self) -> Reply:
        return Reply(500, {"message": "Internal Server Error"})


class CallbackSink(StandinServer):
    """Our side of a webhook: records what a stand-in calls back with and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status

    def route(self, request: Recorded) -> Reply:
        return Reply(self.status, "ok")

    def webhook_url(self, path: str = "/webhooks/status") -> str:
        return self.url + path

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Recorded]:
        for _ in range(int(timeout_s / 0.02)):
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            self.stopping.wait(0.02)
        raise AssertionError(f"expected {count} callbacks, got {len(self.requests)}")


def callback_post(url: str, *, headers: dict[str, str], **kwargs: Any) -> Any:
    """POST a webhook to ``url`` the way a provider does (only to 127.0.0.1 in tests)."""
    import httpx

    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        raise AssertionError(f"stand-ins call back on 127.0.0.1 only, not {url}")
    with httpx.Client(timeout=5.0) as client:
        return client.post(url, headers=headers, **kwargs)


def basic_auth(request: Recorded) -> tuple[str, str] | None:
    import base64

    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password
