"""The operator shell and the customer screens. Each htmx endpoint also renders a full page."""

import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from console.audit import request_ip
from console.forms import AttributesForm, TimelineFilterForm
from console.middleware import SESSION_WORKSPACE
from console.models import Customer, Event
from console.selectors import customer_page, customer_quick_search
from console.services import customer_attributes_set
from console.timeline import KIND_LABELS, TimelineCursor, timeline_entries


def require_perm(codename: str | None = None):
    """Signed-in member of a workspace, holding `codename` when given; else login or 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect(f"/login/?next={request.get_full_path()}")
            if request.workspace is None:
                raise PermissionDenied(
                    "You are not a member of any workspace. Ask an admin to add you."
                )
            if codename and codename not in request.perms:
                raise PermissionDenied(
                    f"Your role ({request.role}) cannot do this; ask a workspace admin for access."
                )
            return view(request, *args, **kwargs)

        wrapped.required_perm = codename
        return wrapped

    return decorator


class ConsoleLoginView(LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True


@require_perm()
def home(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    events_today = Event.objects.filter(workspace=workspace, occurred_at__gte=today)
    context = {
        "customer_total": Customer.objects.filter(workspace=workspace).order_by().count(),
        "events_today": events_today.order_by().count(),
        "event_names": events_today.values("name").annotate(n=Count("id")).order_by("-n")[:8],
        "recent_events": Event.objects.filter(workspace=workspace)
        .select_related("customer")
        .order_by("-occurred_at", "-id")[:12],
    }
    if request.htmx:
        return render(request, "console/home.html#overview", context)
    return render(request, "console/home.html", context)


@require_perm()
def section(request: HttpRequest, name: str) -> HttpResponse:
    """Sections whose screens arrive with later capabilities show what will live there."""
    return render(request, "console/section.html", {"section": name})


@require_perm("view_customers")
def customer_list(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    attribute = request.GET.get("attr", "").strip()
    value = request.GET.get("value", "")
    after = request.GET.get("after")
    error = ""
    try:
        page = customer_page(
            workspace=request.workspace,
            text=text,
            attribute=attribute,
            value=value,
            after=int(after) if after and after.isdigit() else None,
        )
    except ValueError as exc:
        page, error = None, f"Attribute filter: {exc}"
    context = {
        "page": page,
        "q": text,
        "attr": attribute,
        "value": value,
        "error": error,
        "appending": bool(after),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "console/customers.html#rows", context)
    return render(request, "console/customers.html", context)


@require_perm("view_customers")
def quick_search(request: HttpRequest) -> HttpResponse:
    results = customer_quick_search(workspace=request.workspace, text=request.GET.get("q", ""))
    context = {"results": results, "q": request.GET.get("q", "")}
    if request.htmx:
        return render(request, "console/search.html#results", context)
    return render(request, "console/search.html", context)


def _timeline_context(request: HttpRequest, customer: Customer) -> dict:
    form = TimelineFilterForm(request.GET or None)
    kinds = channels = None
    before = None
    if form.is_valid():
        kinds = {form.cleaned_data["kind"]} if form.cleaned_data["kind"] else None
        channels = {form.cleaned_data["channel"]} if form.cleaned_data["channel"] else None
        if form.cleaned_data["before"]:
            try:
                before = TimelineCursor.decode(form.cleaned_data["before"])
            except ValueError:
                before = None
    entries, next_before = timeline_entries(
        customer, limit=30, before=before, kinds=kinds, channels=channels
    )
    return {
        "customer": customer,
        "entries": entries,
        "next_before": next_before,
        "filter_form": form,
        "kind_labels": KIND_LABELS,
        "appending": before is not None,
        "filter_query": request.GET.urlencode(),
    }


@require_perm("view_customers")
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id, workspace=request.workspace)
    context = _timeline_context(request, customer)
    context["can_edit"] = "edit_customers" in request.perms
    context["attributes_form"] = AttributesForm(
        initial={"attributes": json.dumps(customer.attributes, indent=2, ensure_ascii=False)}
    )
    context["panels"] = [panel(request, customer) for panel in CUSTOMER_PANELS]
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "console/customer.html#timeline", context)
    return render(request, "console/customer.html", context)


# Extra panels on the customer page (consent, preferences, runs) contributed by other apps:
# each is a callable (request, customer) -> {"title", "html"}.
CUSTOMER_PANELS: list = []


@require_POST
@require_perm("edit_customers")
def customer_attributes_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=customer_id, workspace=request.workspace)
    form = AttributesForm(request.POST)
    if form.is_valid():
        customer = customer_attributes_set(
            customer=customer,
            attributes=form.cleaned_data["attributes"],
            actor=request.user,
            ip=request_ip(request),
        )
        messages.success(request, "Attributes saved.")
        if request.htmx:
            return HttpResponseClientRefresh()
        return redirect("customer_detail", customer_id=customer.pk)
    context = {"customer": customer, "attributes_form": form, "can_edit": True}
    status = 400
    if request.htmx:
        return render(request, "console/customer.html#attributes", context, status=status)
    context.update(_timeline_context(request, customer))
    return render(request, "console/customer.html", context, status=status)


@require_POST
@require_perm()
def workspace_switch(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("workspace")
    if any(str(m.workspace_id) == wanted for m in request.memberships):
        request.session[SESSION_WORKSPACE] = int(wanted)
    return redirect("home")
