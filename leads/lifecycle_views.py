"""Pages for the end of the funnel: convert a lead and close its opportunity (both on the lead page),
and the admins' page for the reason lists. Views fetch, validate with a form, call one service
(``leads.lifecycle``), redirect; who may act is asked of ``leads.permissions``."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from leads.forms import CloseOpportunityForm, ConvertForm, OpportunityEditForm, ReasonAddForm, ReasonEditForm
from leads.lifecycle import (
    CONVERTIBLE_STAGES,
    account_match_for_lead,
    lead_convert,
    opportunity_close,
    opportunity_update,
    reason_create,
    reason_update,
)
from leads.models import Lead, Opportunity, Reason, Stage
from leads.permissions import (
    get_visible_lead_or_404,
    lead_stage_change_allowed,
    lead_stage_change_check,
    page_permission_required,
)
from leads.selectors import opportunity_list_visible, reason_lists
from leads.services import LeadOperationError


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _form_error(form: Any, error: LeadOperationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


def lead_lifecycle_context(
    request: HttpRequest,
    lead: Lead,
    *,
    convert_form: ConvertForm | None = None,
    close_form: CloseOpportunityForm | None = None,
    edit_form: OpportunityEditForm | None = None,
) -> dict[str, Any]:
    """What the lead page shows about conversion: the opportunity and its forms, for those who may act."""
    opportunity = (
        Opportunity.objects.select_related("account", "contact", "owner", "lost_reason").filter(lead=lead).first()
    )
    context: dict[str, Any] = {"opportunity": opportunity, "convert_form": None, "close_form": None, "edit_form": None}
    if opportunity is None:
        can_convert = (
            lead.stage in CONVERTIBLE_STAGES
            and lead.status == Lead.Status.ACTIVE
            and lead_stage_change_allowed(user=request.user, lead=lead, to_stage=Stage.OPPORTUNITY)
        )
        if can_convert:
            context["convert_form"] = convert_form or ConvertForm(
                initial={"expected_close_on": timezone.localdate() + datetime.timedelta(days=30)}
            )
            context["account_match"] = account_match_for_lead(lead=lead)
    elif opportunity.stage == Opportunity.Stage.OPEN and lead_stage_change_allowed(
        user=request.user, lead=lead, to_stage=Stage.WON
    ):
        context["close_form"] = close_form or CloseOpportunityForm(
            initial={"outcome": "won", "amount": opportunity.amount, "closed_on": timezone.localdate()}
        )
        context["edit_form"] = edit_form or OpportunityEditForm(
            initial={
                "name": opportunity.name,
                "amount": opportunity.amount,
                "expected_close_on": opportunity.expected_close_on,
            }
        )
    return context


@page_permission_required("leads.view_lead")
@require_POST
def lead_convert_page(request: HttpRequest, pk: int) -> HttpResponse:
    from leads.views import render_lead

    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    lead_stage_change_check(user=request.user, lead=lead, to_stage=Stage.OPPORTUNITY)
    form = ConvertForm(request.POST)
    if form.is_valid():
        try:
            conversion = lead_convert(lead=lead, actor=request.user, ip_address=_ip(request), **form.cleaned_data)
        except LeadOperationError as error:
            _form_error(form, error)
        else:
            account = conversion.opportunity.account
            made = "a new account" if conversion.account_created else "the existing account"
            messages.success(request, f"Converted: “{conversion.opportunity.name}” at {made} {account.name}.")
            return redirect("leads:detail", pk=lead.pk)
    return render_lead(request, lead, extra=lead_lifecycle_context(request, lead, convert_form=form), status=400)


@page_permission_required("leads.view_lead")
@require_POST
def opportunity_close_page(request: HttpRequest, pk: int) -> HttpResponse:
    from leads.views import render_lead

    opportunity = get_object_or_404(opportunity_list_visible(user=request.user), pk=pk)
    lead = get_visible_lead_or_404(user=request.user, pk=opportunity.lead_id)
    lead_stage_change_check(user=request.user, lead=lead, to_stage=Stage.WON)
    if opportunity.stage != Opportunity.Stage.OPEN:  # e.g. closed in another tab: there is no form to show
        messages.error(
            request,
            f"This opportunity was already closed as {opportunity.get_stage_display().lower()}; nothing changed.",
        )
        return redirect("leads:detail", pk=lead.pk)
    form = CloseOpportunityForm(request.POST)
    if form.is_valid():
        try:
            closed = opportunity_close(
                opportunity=opportunity, actor=request.user, ip_address=_ip(request), **form.cleaned_data
            )
        except LeadOperationError as error:
            _form_error(form, error)
        else:
            if closed.stage == Opportunity.Stage.WON:
                messages.success(request, f"Won “{closed.name}”: {closed.amount:,.2f}.")
            else:
                messages.success(request, f"Lost “{closed.name}”: {closed.lost_reason.label}.")
            return redirect("leads:detail", pk=lead.pk)
    return render_lead(request, lead, extra=lead_lifecycle_context(request, lead, close_form=form), status=400)


@page_permission_required("leads.view_lead")
@require_POST
def opportunity_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an open opportunity's name, amount or expected close (who may: as for closing it)."""
    from leads.views import render_lead

    opportunity = get_object_or_404(opportunity_list_visible(user=request.user), pk=pk)
    lead = get_visible_lead_or_404(user=request.user, pk=opportunity.lead_id)
    lead_stage_change_check(user=request.user, lead=lead, to_stage=Stage.WON)
    if opportunity.stage != Opportunity.Stage.OPEN:
        messages.error(
            request, f"This opportunity was closed as {opportunity.get_stage_display().lower()}; nothing changed."
        )
        return redirect("leads:detail", pk=lead.pk)
    form = OpportunityEditForm(request.POST)
    if form.is_valid():
        try:
            opportunity_update(
                opportunity=opportunity, data=form.cleaned_data, actor=request.user, ip_address=_ip(request)
            )
        except LeadOperationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Saved “{opportunity.name}”.")
            return redirect("leads:detail", pk=lead.pk)
    return render_lead(request, lead, extra=lead_lifecycle_context(request, lead, edit_form=form), status=400)


# --- The reason lists -------------------------------------------------------------------------------


def _render_reasons(request: HttpRequest, *, add_form: ReasonAddForm | None = None, status: int = 200) -> HttpResponse:
    lists = reason_lists()
    context = {
        "lists": [(Reason.Kind(kind).label, kind, lists[kind]) for kind in Reason.Kind.values],
        "add_form": add_form or ReasonAddForm(),
    }
    return render(request, "leads/reasons.html", context, status=status)


@page_permission_required("leads.view_reason", "leads.add_reason", "leads.change_reason")
@require_http_methods(["GET", "POST"])
def reasons_page(request: HttpRequest) -> HttpResponse:
    """The lost, disqualified and recycled lists: add a reason (POST) or see them all (GET)."""
    if request.method == "GET":
        return _render_reasons(request)
    form = ReasonAddForm(request.POST)
    if form.is_valid():
        try:
            reason = reason_create(actor=request.user, ip_address=_ip(request), **form.cleaned_data)
        except LeadOperationError as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Added “{reason.label}” to the {reason.get_kind_display().lower()} reasons.")
            return redirect("leads:reasons")
    return _render_reasons(request, add_form=form, status=400)


@page_permission_required("leads.view_reason", "leads.change_reason")
@require_POST
def reason_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, reorder, or take a reason out of use (it stays on the history that used it)."""
    reason = get_object_or_404(Reason, pk=pk)
    form = ReasonEditForm(request.POST)
    if form.is_valid():
        try:
            reason = reason_update(reason=reason, data=form.cleaned_data, actor=request.user, ip_address=_ip(request))
        except LeadOperationError as error:
            messages.error(request, str(error))
        else:
            state = "" if reason.is_active else " (out of use: kept on history, no longer offered)"
            messages.success(request, f"Saved “{reason.label}”{state}.")
    else:
        problems = "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        messages.error(request, f"Not saved: {problems}")
    return redirect("leads:reasons")
