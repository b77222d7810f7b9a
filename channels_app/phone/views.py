"""The phone view: pick a customer, play their side of SMS, WhatsApp and calls."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from channels_app.phone.selectors import (
    phone_calls,
    phone_live_call,
    phone_recent_customers,
    phone_thread,
)
from channels_app.phone.services import PhoneActionInvalid, phone_act
from channels_app.policies.selectors import customer_find
from console.models import Customer
from console.views import require_perm

PAGE = "channels_app/phone_page.html"
KEYPAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]


def _context(customer: Customer | None, **extra) -> dict:
    context: dict = {"customer": customer, "keypad": KEYPAD}
    if customer is not None:
        calls = phone_calls(customer)
        context.update(
            sms=phone_thread(customer, "sms"),
            whatsapp=phone_thread(customer, "whatsapp"),
            calls=calls,
            live_call=phone_live_call(calls),
        )
    context.update(extra)
    return context


@require_perm("view_customers")
def phone(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("customer", "").strip()
    customer = None
    if query.isdigit():
        customer = Customer.objects.filter(workspace=request.workspace, pk=int(query)).first()
    if customer is None and query:
        customer = customer_find(workspace=request.workspace, text=query)
    context = _context(customer, query=query, not_found=bool(query) and customer is None)
    if customer is None:
        context["recent"] = phone_recent_customers(workspace=request.workspace)
    template = f"{PAGE}#handset" if request.htmx and customer else PAGE
    return render(request, template, context)


@require_perm("manage_channels")
def phone_action(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, workspace=request.workspace, pk=customer_id)
    if request.method != "POST":
        return redirect(f"/channels/phone/?customer={customer.pk}")
    error = ""
    try:
        answer = phone_act(customer=customer, action=request.POST.get("action", ""),
                           data=request.POST.dict())  # fmt: skip
        if answer.status != 200:
            error = f"The simulator webhook answered {answer.status}: {answer.body}"
    except PhoneActionInvalid as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            flash.error(request, error)
        return redirect(f"/channels/phone/?customer={customer.pk}")
    return render(request, f"{PAGE}#handset", _context(customer, error=error),
                  status=400 if error else 200)  # fmt: skip
