"""The rep's pages: "My queue" with their load and appetite, accepting and rejecting, and claiming from overflow."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leads.permissions import get_visible_lead_or_404, page_permission_required
from leads.selectors import lead_queue_for_rep
from leads.services import LeadOperationError
from routing.models import Rejection, Rep
from routing.selectors import overflow_list, rep_load
from routing.services import REP_SELF_SERVICE_FIELDS, lead_accept, lead_reject, overflow_claim, rep_update


class AppetiteForm(forms.ModelForm):
    """What a rep may change on themselves: the lowest score they take, and whether they take any."""

    class Meta:
        model = Rep
        fields = sorted(REP_SELF_SERVICE_FIELDS)
        labels = {"min_score": "Lowest score I take", "is_available": "Available for new leads"}
        widgets = {
            "out_of_office_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "min_score": forms.NumberInput(attrs={"min": 0, "max": 100}),
        }


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=Rejection.Reason.choices)
    note = forms.CharField(required=False, max_length=500)


def _is_partial(request: HttpRequest) -> bool:
    # A button posts with htmx, is redirected here, and swaps in just the queue's body.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _queue_context(request: HttpRequest, *, appetite_form: AppetiteForm | None = None) -> dict:
    rep: Rep | None = getattr(request.user, "rep", None)
    now = timezone.now()
    load = rep_load(reps=[rep], now=now)[rep.pk] if rep is not None else None
    return {
        "partial": _is_partial(request),
        "rep": rep,
        "queue": list(lead_queue_for_rep(user=request.user)),
        "load": load,
        "open_count": load.open_leads if load else 0,
        "at_capacity": load is not None and load.open_leads >= rep.max_open_leads,
        "full_today": load is not None and load.today >= rep.max_new_per_day,
        "claimable": list(overflow_list()[:20]),
        "appetite_form": appetite_form or (AppetiteForm(instance=rep) if rep else None),
        "reject_reasons": Rejection.Reason.choices,
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
