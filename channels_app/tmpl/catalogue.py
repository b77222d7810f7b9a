"""The typed variables a template may use, and the values a customer gives them.

Naming (one rule, so authors can guess): ``customer.<field>`` for the profile fields below,
``customer.attributes.<key>`` for the customer's free attributes (never flattened, so an attribute
called ``name`` cannot shadow the profile name), ``event.<property>`` for the triggering event's
properties, and ``context.<key>`` for values a journey run carries. Built-in variables are listed
here; a workspace declares its own on the template settings page (``TemplateVariable`` rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from console.models import Customer


@dataclass(frozen=True)
class CatalogueVariable:
    """A named, typed variable with a sample value for previews and WhatsApp submissions."""

    name: str
    type: str
    source: str
    sample: str
    description: str = ""


BUILTIN_VARIABLES: tuple[CatalogueVariable, ...] = (
    CatalogueVariable("customer.name", "text", "customer", "Priya Sharma", "Full name"),
    CatalogueVariable("customer.first_name", "text", "customer", "Priya", "First word of the name"),
    CatalogueVariable("customer.phone", "phone", "customer", "+919876543210", "Mobile number"),
    CatalogueVariable("customer.email", "text", "customer", "priya@example.in", "E-mail"),
    CatalogueVariable("customer.external_id", "text", "customer", "CUST100001", "Your customer id"),
    CatalogueVariable("event.order_id", "text", "event", "58821", "Order number"),
    CatalogueVariable("event.amount", "money", "event", "1499", "Order or payment amount"),
    CatalogueVariable(
        "event.tracking_url", "url", "event", "https://muzz.in/t/58821", "Tracking link"
    ),
    CatalogueVariable("event.delivery_date", "date", "event", "2026-12-05", "Expected delivery"),
    CatalogueVariable("event.courier", "text", "event", "BlueDart", "Courier name"),
    CatalogueVariable("event.payment_id", "text", "event", "PAY-73120", "Payment reference"),
    CatalogueVariable("event.loan_id", "text", "event", "LN482913", "Loan application id"),
    CatalogueVariable("context.order_id", "text", "journey context", "58821", "Order in this run"),
    CatalogueVariable("context.amount", "money", "journey context", "1499", "Amount in this run"),
    CatalogueVariable("context.loan_id", "text", "journey context", "LN482913", "Loan in this run"),
    CatalogueVariable(
        "context.loan_amount", "money", "journey context", "250000", "Sanctioned amount"
    ),
    CatalogueVariable("context.emi_amount", "money", "journey context", "8450", "Monthly EMI"),
    CatalogueVariable(
        "context.emi_due_date", "date", "journey context", "2026-12-10", "EMI due date"
    ),
    CatalogueVariable("context.tenure_months", "number", "journey context", "36", "Loan tenure"),
    CatalogueVariable("context.coupon_code", "text", "journey context", "RETURN10", "Coupon code"),
)


def customer_values(customer: Customer) -> dict[str, object]:
    """The ``customer`` branch of the render values: profile fields plus ``attributes``."""
    name = customer.name or ""
    return {
        "name": name or None,
        "first_name": name.split()[0] if name.strip() else None,
        "phone": customer.phone or None,
        "email": customer.email or None,
        "external_id": customer.external_id,
        "language": customer.language,
        "attributes": dict(customer.attributes or {}),
    }


def render_values(
    *,
    customer: Customer | None = None,
    event: Mapping[str, object] | None = None,
    context: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Values for ``template_render`` from a customer, an event's properties and a run's context."""
    return {
        "customer": customer_values(customer) if customer is not None else {},
        "event": dict(event or {}),
        "context": dict(context or {}),
    }


def value_lookup(values: Mapping[str, object], name: str) -> object | None:
    """``values[name]`` as a flat dotted key, else through nested mappings; None when absent.

    Only mapping keys are read, never attributes, so a value cannot reach into Python objects.
    """
    if name in values:
        return values[name]
    current: object = values
    for segment in name.split("."):
        if not isinstance(current, Mapping) or segment not in current:
            return None
        current = current[segment]
    return current
