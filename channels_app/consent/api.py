"""Consent in the HTTP API: sections of GET /customers/{external_id} and POST .../consent."""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import Router, Status

from channels_app.consent.schemas import ConsentError, ConsentIn, consent_in_parse
from channels_app.consent.selectors import consent_matrix_public, preference_row
from channels_app.consent.services import (
    consent_append,
    consent_entry_public,
    dnd_public,
    preference_public,
)
from console.api import ApiError
from console.models import Customer

router = Router(tags=["consent"])


def consent_section(customer: Customer) -> dict:
    return consent_matrix_public(customer)


def preferences_section(customer: Customer) -> dict:
    return preference_public(preference_row(customer), customer)


def dnd_section(customer: Customer) -> dict:
    return dnd_public(preference_row(customer))


def _json_object(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    return data


@router.post(
    "/{external_id}/consent",
    response={201: dict},
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": ConsentIn.model_json_schema()}}}
    },
)
def customer_consent_append(request, external_id: str):
    """Append a grant or withdrawal to the customer's consent ledger (201 with the entry and state).

    `source` is one of form, keyword, ivr, support, import, api (default api); grants of service
    or promotional consent need `proof`; `support` needs a `reason`."""
    customer = Customer.objects.filter(workspace=request.workspace, external_id=external_id).first()
    if customer is None:
        raise ApiError(
            404, "not_found", f"No customer with external_id '{external_id}' in this workspace."
        )
    data = _json_object(request)
    data.setdefault("source", "api")
    try:
        parsed = consent_in_parse(data)  # unknown fields are named too (extra="forbid")
        entry = consent_append(
            customer=customer, data=parsed, actor_label=f"API key {request.auth.name}"
        )
    except ConsentError as exc:
        raise ApiError(
            400, "validation_error", "Some fields are invalid; see fields.", exc.fields
        ) from exc
    matrix = consent_matrix_public(customer)
    return Status(
        201,
        {
            "entry": consent_entry_public(entry),
            "state": matrix[entry.channel][entry.purpose],
            "consent": matrix,
        },
    )
