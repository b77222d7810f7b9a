"""Webhook endpoints: thin views around ``services.webhook_receive``; IVR answers are rendered
here per provider (TwiML for Twilio, Passthru status + text for Exotel, JSON for the simulator)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from channels_app.ivr.render import exotel_answer, twiml_answer
from channels_app.providers.base import WebhookRequest
from channels_app.providers.meta import meta_verify_handshake
from channels_app.providers_console.services import account_credentials
from channels_app.webhooks.services import WebhookAnswer, owner_resolve, webhook_receive


def _incoming(request: HttpRequest) -> WebhookRequest:
    request.body  # noqa: B018  (read the raw body before the form parser consumes the stream)
    return WebhookRequest.from_django(request)


def _plain(answer: WebhookAnswer) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, content_type="text/plain")


def _call_id(request: HttpRequest) -> int | None:
    value = request.GET.get("call", "")
    return int(value) if value.isdigit() else None


@csrf_exempt
@require_http_methods(["POST"])
def twilio_webhook(request: HttpRequest, account_id: int, endpoint: str) -> HttpResponse:
    answer = webhook_receive(
        kind="twilio",
        owner_id=account_id,
        endpoint=endpoint,
        request=_incoming(request),
        call_id=_call_id(request),
    )
    if answer.status == 200 and endpoint.startswith("voice/") and answer.ivr is not None:
        return HttpResponse(twiml_answer(answer.ivr, account_id), content_type="text/xml")
    return _plain(answer)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest, account_id: int) -> HttpResponse:
    if request.method == "GET":
        owner = owner_resolve("meta", account_id)
        if owner is None:
            return HttpResponse("unknown webhook", status=404)
        token = account_credentials(owner.account).get("verify_token", "")
        status, body = meta_verify_handshake(request.GET.dict(), token)
        return HttpResponse(body, status=status, content_type="text/plain")
    answer = webhook_receive(
        kind="meta", owner_id=account_id, endpoint="meta", request=_incoming(request)
    )
    return _plain(answer)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def exotel_webhook(request: HttpRequest, account_id: int, endpoint: str) -> HttpResponse:
    answer = webhook_receive(
        kind="exotel",
        owner_id=account_id,
        endpoint=endpoint,
        request=_incoming(request),
        call_id=_call_id(request),
    )
    if answer.status == 200 and endpoint == "passthru" and answer.ivr is not None:
        status, text = exotel_answer(answer.ivr)
        return HttpResponse(text, status=status, content_type="text/plain")
    return _plain(answer)


@csrf_exempt
@require_http_methods(["POST"])
def simulator_webhook(request: HttpRequest, workspace_id: int) -> HttpResponse:
    answer = webhook_receive(
        kind="simulator",
        owner_id=workspace_id,
        endpoint="events",
        request=_incoming(request),
    )
    body = {"result": answer.body, "duplicate": answer.duplicate}
    if answer.ivr is not None:
        body["say"] = answer.ivr.say
        body["menu"] = answer.ivr.menu
    return JsonResponse(body, status=answer.status, json_dumps_params={"ensure_ascii": False})
