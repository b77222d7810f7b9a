"""The versioned HTTP API (`/api/v1/`): bearer keys, customers, events, the timeline.

Every error answers `{"error": code, "detail": sentence, "fields": {name: [messages]}}`.
"""

import json
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import ValidationError

from console.models import ApiKey, Customer
from console.schemas import CustomerBatchIn, CustomerIn, EventBatchIn, EventIn, validation_fields
from console.services import (
    apikey_authenticate,
    customer_public,
    customer_upsert,
    customers_upsert_batch,
    events_ingest,
)
from console.timeline import TimelineCursor, timeline_entries


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, detail: str, fields: dict | None = None, headers=None
    ):
        self.status, self.error, self.detail = status, error, detail
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(status: int, error: str, detail: str, fields: dict | None = None, headers=None):
    response = JsonResponse(
        {"error": error, "detail": detail, "fields": fields or {}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = apikey_authenticate(token)
        if key is None:
            return None
        wanted = request.headers.get("X-Workspace")
        if wanted and wanted != key.workspace.slug:
            raise ApiError(
                403,
                "forbidden_workspace",
                f"This key belongs to workspace '{key.workspace.slug}', not '{wanted}'. "
                "Use a key created in that workspace.",
            )
        _rate_limit(key)
        request.workspace = key.workspace
        return key


def _rate_limit(key: ApiKey) -> None:
    limit = key.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
    now = timezone.now()
    bucket = f"api-rate:{key.pk}:{now:%Y%m%d%H%M}"
    cache.add(bucket, 0, timeout=120)
    try:
        used = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=120)
        used = 1
    if used > limit:
        retry_after = 60 - now.second
        raise ApiError(
            429,
            "rate_limited",
            f"This key may make {limit} requests a minute; wait {retry_after}s or use the batch endpoints.",
            headers={"Retry-After": str(retry_after)},
        )


api = NinjaAPI(
    title="Sangam API",
    version="1",
    urls_namespace="api-v1",
    auth=BearerKey(),
    description=(
        "Customers, events and the shared customer timeline. Authenticate with "
        "`Authorization: Bearer <key>` (create keys in Settings -> API keys or with "
        "`manage.py apikey create`). Errors answer `{error, detail, fields}`."
    ),
)


@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(exc.status, exc.error, exc.detail, exc.fields, exc.headers)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error_response(
        401,
        "unauthorized",
        "Send a valid, unrevoked API key as `Authorization: Bearer <key>`.",
    )


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    fields = validation_fields(exc.errors, drop=0)
    cleaned = {}
    for name, messages in fields.items():
        parts = name.split(".")
        while parts and parts[0] in {"body", "payload", "query", "path"}:
            parts = parts[1:]
        cleaned[".".join(parts) or "body"] = messages
    if any("JSON" in m for ms in cleaned.values() for m in ms) or not cleaned:
        return error_response(400, "malformed_json", "The body is not valid JSON.", cleaned)
    return error_response(400, "validation_error", "Some fields are invalid; see fields.", cleaned)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return error_response(exc.status_code, "error", str(exc))


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc}.") from exc


def _parse(schema, request: HttpRequest):
    data = _body(request)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            400,
            "validation_error",
            "Some fields are invalid; see fields.",
            validation_fields(exc.errors()),
        ) from exc


# --- customers --------------------------------------------------------------------------------


class CustomerOut(Schema):
    external_id: str
    name: str
    phone: str
    email: str
    language: str
    timezone: str
    whatsapp: bool
    attributes: dict
    created_at: str
    updated_at: str


# Extra sections of a customer's API representation (consent, preferences) from other apps.
CUSTOMER_SECTIONS: dict[str, Any] = {}


def customer_representation(customer: Customer) -> dict:
    data = customer_public(customer)
    for name, build in CUSTOMER_SECTIONS.items():
        data[name] = build(customer)
    return data


@api.post(
    "/customers",
    response={200: dict, 201: dict},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": CustomerIn.model_json_schema()}}}
    },
)
def customers_upsert(request):
    """Create or update one customer by `external_id` (201 created, 200 updated).

    Attributes merge into the stored ones; an attribute sent as null is removed."""
    data = _parse(CustomerIn, request)
    customer, created = customer_upsert(workspace=request.workspace, data=data)
    return Status(201 if created else 200, customer_representation(customer))


@api.post(
    "/customers/batch",
    response=dict,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": CustomerBatchIn.model_json_schema()}}
        }
    },
)
def customers_batch(request):
    """Upsert up to 1,000 customers; per-item results, a bad item changes nothing."""
    data = _parse(CustomerBatchIn, request)
    results = customers_upsert_batch(workspace=request.workspace, items=data.customers)
    return {"results": results, "errors": sum(r["status"] == "error" for r in results)}


@api.get("/customers/{external_id}", response=dict)
def customers_get(request, external_id: str):
    """One customer with everything the workspace knows about them."""
    customer = Customer.objects.filter(workspace=request.workspace, external_id=external_id).first()
    if customer is None:
        raise ApiError(
            404, "not_found", f"No customer with external_id '{external_id}' in this workspace."
        )
    return customer_representation(customer)


class TimelineParams(Schema):
    limit: int = 50
    before: str | None = None
    kind: str | None = None
    channel: str | None = None


@api.get("/customers/{external_id}/timeline", response=dict)
def customers_timeline(request, external_id: str, params: Query[TimelineParams]):
    """The customer's unified timeline, newest first; page with `before=<next_before>`."""
    customer = get_object_or_404(Customer, workspace=request.workspace, external_id=external_id)
    if not 1 <= params.limit <= 200:
        raise ApiError(
            400,
            "validation_error",
            "limit is out of range.",
            {"limit": ["Use a limit from 1 to 200."]},
        )
    try:
        cursor = TimelineCursor.decode(params.before) if params.before else None
    except ValueError as exc:
        raise ApiError(400, "validation_error", str(exc), {"before": [str(exc)]}) from exc
    entries, next_before = timeline_entries(
        customer,
        limit=params.limit,
        before=cursor,
        kinds={params.kind} if params.kind else None,
        channels={params.channel} if params.channel else None,
    )
    return {
        "entries": [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "channel": e.channel or None,
                "summary": e.summary,
                "data": e.data,
            }
            for e in entries
        ],
        "next_before": next_before,
    }


# --- events -----------------------------------------------------------------------------------


@api.post(
    "/events",
    response={200: dict, 202: dict, 400: dict},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": EventIn.model_json_schema()}}}
    },
)
def events_create(request):
    """Record one event: 202 `{"id", "duplicate": false}`; the same `event_id` again: 200 with duplicate true."""
    data = _body(request)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    outcome = events_ingest(workspace=request.workspace, items=[data], source="api")[0]
    if outcome.status == "error":
        raise ApiError(400, outcome.error, outcome.detail, outcome.fields)
    duplicate = outcome.status == "duplicate"
    return Status(200 if duplicate else 202, {"id": outcome.id, "duplicate": duplicate})


@api.post(
    "/events/batch",
    response=dict,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": EventBatchIn.model_json_schema()}}
        }
    },
)
def events_batch(request):
    """Record up to 1,000 events in one transaction; per-item results.

    Invalid items are reported and stored nothing; set `all_or_nothing` to store none on any error."""
    data = _parse(EventBatchIn, request)
    outcomes = events_ingest(
        workspace=request.workspace,
        items=data.events,
        source="api",
        all_or_nothing=data.all_or_nothing,
    )
    counts = {
        s: sum(o.status == s for o in outcomes)
        for s in ("created", "duplicate", "error", "skipped")
    }
    return {"results": [o.public() for o in outcomes], **counts}
