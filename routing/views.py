"""Routing's pages: the rep's "My queue" (load, appetite, accept, reject, claim), everyone's notifications,
and the territory pages (list, create, edit, delete, "Test this lead")."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads.permissions import get_visible_lead_or_404, page_permission_required
from leads.selectors import lead_queue_for_rep
from leads.services import LeadOperationError
from routing.forms import RepForm, RouteTestForm, SeatFormSet, TerritoryForm
from routing.models import Rejection, Rep, Territory
from routing.preview import lead_route_preview, route_test_lead
from routing.selectors import (
    notification_list,
    notification_unread_count,
    overflow_list,
    rep_list_with_load,
    rep_load,
    territory_list,
)
from routing.services import (
    REP_SELF_SERVICE_FIELDS,
    lead_accept,
    lead_reject,
    notifications_mark_read,
    overflow_claim,
    rep_update,
    territory_delete,
    territory_save,
)


class AppetiteForm(forms.ModelForm):
    """What a rep may change on themselves: the lowest score they take, and whether they take any."""

    class Meta:
        model = Rep
        fields = sorted(REP_SELF_SERVICE_FIELDS)
        labels = {
            "min_score": "Lowest score I take",
            "is_available": "Available for new leads",
            "out_of_office_from": "Out of office from",
            "out_of_office_until": "Back on",
        }
        help_texts = {"out_of_office_from": "Empty: from now on, if you give a return date."}
        widgets = {
            "out_of_office_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "out_of_office_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "min_score": forms.NumberInput(attrs={"min": 0, "max": 100}),
        }


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=Rejection.Reason.choices)
    note = forms.CharField(required=False, max_length=500)


def _is_partial(request: HttpRequest) -> bool:
    # A button posts with htmx, is redirected here, and swaps in just the queue's body.
    return bool(request.htmx) and not request.htmx.history_restore_request


#: Rows the queue page shows: the most urgent first. A rep over this has more than a day's work; the
#: rest follow as these are worked (each row carries two forms, so a thousand-lead queue took seconds).
QUEUE_PAGE_ROWS = 50


def _queue_context(request: HttpRequest, *, appetite_form: AppetiteForm | None = None) -> dict:
    rep: Rep | None = getattr(request.user, "rep", None)
    now = timezone.now()
    load = rep_load(reps=[rep], now=now)[rep.pk] if rep is not None else None
    queue = list(lead_queue_for_rep(user=request.user)[: QUEUE_PAGE_ROWS + 1])
    more = len(queue) > QUEUE_PAGE_ROWS
    queue = queue[:QUEUE_PAGE_ROWS]
    return {
        "partial": _is_partial(request),
        "rep": rep,
        "queue": queue,
        # Counted only when the page cannot show them all (an index-only count on the rep's leads).
        "queue_total": lead_queue_for_rep(user=request.user).order_by().count() if more else len(queue),
        "load": load,
        "open_count": load.open_leads if load else 0,
        "at_capacity": load is not None and load.open_leads >= rep.max_open_leads,
        "full_today": load is not None and load.today >= rep.max_new_per_day,
        "claimable": list(overflow_list()[:20]),
        "appetite_form": appetite_form or (AppetiteForm(instance=rep) if rep else None),
        # Written once, not once per row: every unaccepted row has the same reject drop-down.
        "reject_reason_options": format_html_join("", '<option value="{}">{}</option>', Rejection.Reason.choices),
        "now": now,
    }


def _render_queue(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    template = "routing/_queue_body.html" if context["partial"] else "routing/queue.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page_permission_required("leads.work_lead")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return _render_queue(request, _queue_context(request))


def _act(request: HttpRequest, done: str, action) -> HttpResponse:
    try:
        action()
    except LeadOperationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect("routing:queue")


@page_permission_required("leads.work_lead")
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    ip = request.META.get("REMOTE_ADDR")
    return _act(request, f"{lead} is yours now.", lambda: overflow_claim(lead=lead, user=request.user, ip_address=ip))


@page_permission_required("leads.work_lead")
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    ip = request.META.get("REMOTE_ADDR")
    return _act(request, f"You accepted {lead}.", lambda: lead_accept(lead=lead, user=request.user, ip_address=ip))


@page_permission_required("leads.work_lead")
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a reason to reject the lead.")
        return redirect("routing:queue")
    reason, note = form.cleaned_data["reason"], form.cleaned_data["note"]
    label = Rejection.Reason(reason).label
    return _act(
        request,
        f"You rejected {lead}: {label}.",
        lambda: lead_reject(
            lead=lead, user=request.user, reason=reason, note=note, ip_address=request.META.get("REMOTE_ADDR")
        ),
    )


@page_permission_required("leads.work_lead")
@require_POST
def appetite(request: HttpRequest) -> HttpResponse:
    rep: Rep | None = getattr(request.user, "rep", None)
    if rep is None:
        raise PermissionDenied("You have no rep profile.")
    form = AppetiteForm(request.POST, instance=Rep.objects.get(pk=rep.pk))
    if not form.is_valid():
        return _render_queue(request, _queue_context(request, appetite_form=form))
    data = {name: form.cleaned_data[name] for name in REP_SELF_SERVICE_FIELDS}
    rep_update(rep=rep, data=data, actor=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    messages.success(request, "Your appetite is saved: routing uses it from the next lead.")
    return redirect("routing:queue")


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    page = Paginator(notification_list(user=request.user), 50).get_page(request.GET.get("page"))
    context = {"page": page, "unread_count": notification_unread_count(user=request.user)}
    return render(request, "routing/notifications.html", context)


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification read (``id``) or, without one, all of the user's."""
    raw = request.POST.get("id")
    if raw is not None and not raw.isdigit():
        messages.error(request, "id: give a notification number.")
        return redirect("routing:notifications")
    count = notifications_mark_read(user=request.user, ids=[int(raw)] if raw else None)
    if not raw:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect("routing:notifications")


# --- Territories: list, create, edit, delete; and "Test this lead" ---------------------------


@page_permission_required("routing.view_territory", "leads.view_all_leads")
@require_GET
def territories(request: HttpRequest) -> HttpResponse:
    return render(request, "routing/territories.html", {"territories": territory_list()})


def _seat_initial(territory: Territory | None) -> list[dict]:
    if territory is None:
        return []
    return [{"rep": m.rep, "weight": m.weight} for m in territory.memberships.select_related("rep__user")]


def _territory_form_page(request: HttpRequest, territory: Territory | None) -> HttpResponse:
    """Create (``territory`` None) or edit: one form for the territory, a formset for its reps."""
    # The form works on its own copy: the service compares the stored values with the new ones for the audit.
    shown = Territory.objects.get(pk=territory.pk) if territory else None
    if request.method == "POST":
        form = TerritoryForm(request.POST, instance=shown)
        seats = SeatFormSet(request.POST, prefix="seats")
        if form.is_valid() and seats.is_valid():
            try:
                saved = territory_save(
                    territory=territory,
                    data=form.criteria(),
                    seats=seats.seats(),
                    actor=request.user,
                    ip_address=request.META.get("REMOTE_ADDR"),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Saved {saved.name}: routing uses it from the next lead.")
                return redirect("routing:territories")
        status = 400
    else:
        form = TerritoryForm(instance=shown)
        seats = SeatFormSet(prefix="seats", initial=_seat_initial(territory))
        status = 200
    context = {"form": form, "seats": seats, "territory": territory}
    return render(request, "routing/territory_form.html", context, status=status)


@page_permission_required("routing.view_territory", "routing.add_territory")
@require_http_methods(["GET", "POST"])
def territory_new(request: HttpRequest) -> HttpResponse:
    return _territory_form_page(request, None)


@page_permission_required("routing.view_territory", "routing.change_territory")
@require_http_methods(["GET", "POST"])
def territory_edit(request: HttpRequest, slug: str) -> HttpResponse:
    return _territory_form_page(request, get_object_or_404(Territory, slug=slug))


@page_permission_required("routing.view_territory", "routing.delete_territory")
@require_POST
def territory_delete_view(request: HttpRequest, slug: str) -> HttpResponse:
    territory = get_object_or_404(Territory, slug=slug)
    territory_delete(territory=territory, actor=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    messages.success(request, f"Deleted {territory.name}; its waiting leads move to the general overflow.")
    return redirect("routing:territories")


@page_permission_required("routing.view_territory", "leads.view_all_leads")
@require_GET
def route_test(request: HttpRequest) -> HttpResponse:
    """A dry run: which territory and rep a lead would get now, by the rules routing uses; writes nothing."""
    form = RouteTestForm(request.GET or None)
    preview = None
    if form.is_bound and form.is_valid():
        lead = route_test_lead(user=request.user, data=form.cleaned_data)
        if lead is None:
            form.add_error("lead", f"No lead number {form.cleaned_data['lead']} that you may see.")
        else:
            preview = lead_route_preview(lead=lead)
    return render(request, "routing/route_test.html", {"form": form, "preview": preview})


# --- Reps: load, capacity and availability for admins and marketing; admins edit ---------------


@page_permission_required("routing.view_rep", "leads.view_all_leads")
@require_GET
def reps(request: HttpRequest) -> HttpResponse:
    return render(request, "routing/reps.html", {"reps": rep_list_with_load(now=timezone.now())})


@page_permission_required("routing.view_rep", "routing.change_rep")
@require_http_methods(["GET", "POST"])
def rep_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rep = get_object_or_404(Rep.objects.select_related("user"), pk=pk)
    # The form works on its own copy: the service compares the stored values with the new ones for the audit.
    shown = Rep.objects.get(pk=rep.pk)
    form = RepForm(request.POST or None, instance=shown)
    if request.method == "POST" and form.is_valid():
        try:
            rep_update(rep=rep, data=form.changes(), actor=request.user, ip_address=request.META.get("REMOTE_ADDR"))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved {rep}: routing uses it from the next lead.")
            return redirect("routing:reps")
    status = 400 if request.method == "POST" else 200
    return render(request, "routing/rep_form.html", {"form": form, "rep": rep}, status=status)
