"""Lead pages: the start page, the marketers' inbox (filters, bulk actions, saved views) and a lead's own page.

Views fetch, validate with a form, call one service, and redirect; who may see and do what
is asked of ``leads.permissions``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leads.exports import lead_export_response
from leads.forms import BulkAction, BulkActionForm, InboxFilter, SavedViewForm, StageChangeForm
from leads.models import Lead, Stage
from leads.permissions import (
    get_visible_lead_or_404,
    lead_claim_allowed,
    lead_stage_change_allowed,
    lead_stage_change_check,
    page_permission_required,
)
from leads.roles import ADMIN, MARKETING, SALES, user_roles
from leads.selectors import (
    lead_assignable_owners,
    lead_ids_visible,
    lead_invalid_fields,
    lead_list_for_inbox,
    lead_list_visible,
    lead_submissions,
    lead_timeline_entries,
    saved_view_list_own,
    saved_view_list_shared,
)
from leads.services import (
    LeadOperationError,
    lead_change_stage,
    leads_bulk_assign,
    leads_bulk_change_stage,
    saved_view_create,
    saved_view_delete,
    saved_view_query_normalize,
)

#: Where each role starts, in order of precedence for users with several roles.
HOME_BY_ROLE = ((SALES, "routing:queue"), (MARKETING, "leads:inbox"), (ADMIN, "scoring:definition"))

INBOX_PAGE_SIZE = 50
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    for role, url_name in HOME_BY_ROLE:
        if role in roles:
            return redirect(url_name)
    return render(request, "leads/no_role.html", status=403)


# --- Inbox ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxPage:
    leads: list[Lead]
    next_query: str | None  # the query string of the next page, filters kept
    is_first: bool


def inbox_cursor(lead: Lead) -> str:
    """Where the next page starts: the last row's (created_at, id), as the list is ordered."""
    return f"{(lead.created_at - _EPOCH) // _MICROSECOND}.{lead.pk}"


def inbox_cursor_parse(cursor: str) -> tuple[datetime.datetime, int] | None:
    """The (created_at, id) a cursor names; ``None`` for a missing or unreadable one (start at the top)."""
    micros, _, pk = cursor.partition(".")
    try:
        return _EPOCH + int(micros) * _MICROSECOND, int(pk)
    except (ValueError, OverflowError):
        return None


def inbox_page(leads: QuerySet[Lead], *, query: QueryDict) -> InboxPage:
    """One page of the keyset-paginated inbox: one extra row says whether there is more, no COUNT(*)."""
    after = inbox_cursor_parse(query.get("cursor", ""))
    if after is not None:
        created_at, pk = after
        leads = leads.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = list(leads[: INBOX_PAGE_SIZE + 1])
    next_query = None
    if len(rows) > INBOX_PAGE_SIZE:
        rows = rows[:INBOX_PAGE_SIZE]
        following = query.copy()
        following["cursor"] = inbox_cursor(rows[-1])
        next_query = following.urlencode()
    return InboxPage(leads=rows, next_query=next_query, is_first=after is None)


def inbox_url(query: str | QueryDict = "") -> str:
    """The inbox with ``query`` (re-encoded, so only a query string ever follows the path)."""
    params = query if isinstance(query, QueryDict) else QueryDict(query.lstrip("?"))
    encoded = params.urlencode()
    return f"{reverse('leads:inbox')}?{encoded}" if encoded else reverse("leads:inbox")


def _render_inbox(
    request: HttpRequest,
    *,
    query: QueryDict,
    bulk_form: BulkActionForm | None = None,
    save_form: SavedViewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The inbox for the filters in ``query``; a refused bulk action or saved view comes back with its form."""
    user = request.user
    lead_filter = InboxFilter(query or None, queryset=lead_list_for_inbox(user=user))
    first_query = query.copy()
    first_query.pop("cursor", None)
    can_triage = user.has_perm("leads.triage_lead")
    if bulk_form is None and can_triage:
        bulk_form = BulkActionForm(owners=lead_assignable_owners(), initial={"query": query.urlencode()})
    if save_form is None:
        save_form = SavedViewForm(initial={"query": first_query.urlencode()})
    # htmx swaps only the results; a history restore (back button after a cache miss) needs the page.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "partial": partial,
        "filter": lead_filter,
        "form": lead_filter.form,
        "page": inbox_page(lead_filter.qs, query=query),
        "first_query": first_query.urlencode(),
        "current_query": query.urlencode(),
        "is_filtered": any(key != "cursor" and any(query.getlist(key)) for key in query),
        "show_junk_reason": Stage.JUNK in query.getlist("stage") or bool(query.get("junk_reason", "").strip()),
        "bulk_form": bulk_form if can_triage else None,
        "can_assign": user.has_perm("leads.assign_lead"),
        "selected_ids": bulk_form.selected_ids if bulk_form is not None else set(),
        "save_form": save_form,
        "saved_views_own": saved_view_list_own(user=user),
        "saved_views_shared": saved_view_list_shared(user=user),
        "view_query": saved_view_query_normalize(query),
    }
    response = render(request, "leads/_inbox_results.html" if partial else "leads/inbox.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@page_permission_required("leads.view_all_leads")
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return _render_inbox(request, query=request.GET)


@page_permission_required("leads.view_all_leads")
@require_GET
def inbox_export(request: HttpRequest) -> HttpResponse:
    """The inbox's filtered list as CSV, streamed (``leads.exports``); filters not understood are a 400."""
    lead_filter = InboxFilter(request.GET or None, queryset=lead_list_for_inbox(user=request.user))
    if lead_filter.is_bound and not lead_filter.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in lead_filter.errors.items())
        return HttpResponse(f"Some filters were not understood: {problems}", status=400, content_type="text/plain")
    return lead_export_response(leads=lead_filter.qs)


@page_permission_required("leads.view_all_leads", "leads.triage_lead")
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the ticked leads, then back to the same filtered inbox with what moved and what did not."""
    form = BulkActionForm(request.POST, owners=lead_assignable_owners())
    if form.is_valid():
        data = form.cleaned_data
        if data["action"] == BulkAction.ASSIGN and not request.user.has_perm("leads.assign_lead"):
            raise PermissionDenied("You may not assign leads.")
        lead_ids = lead_ids_visible(user=request.user, lead_ids=data["lead"])
        ip_address = request.META.get("REMOTE_ADDR")
        try:
            if data["action"] == BulkAction.ASSIGN:
                result = leads_bulk_assign(
                    lead_ids=lead_ids, owner=data["owner"], actor=request.user, ip_address=ip_address
                )
            else:
                result = leads_bulk_change_stage(
                    lead_ids=lead_ids,
                    to_stage=data["to_stage"],
                    reason=data["reason"],
                    reason_code=data["reason_code"],
                    actor=request.user,
                    ip_address=ip_address,
                )
        except LeadOperationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            report = messages.warning if result.skipped else messages.success
            report(request, result.summary())
            return HttpResponseRedirect(inbox_url(data["query"]))
    # Show the list again with the leads still ticked and the reason it was refused. htmx swaps
    # only 2xx answers, so its partial comes back 200; a plain form post gets a 400.
    return _render_inbox(
        request,
        query=QueryDict(form.data.get("query", "")),
        bulk_form=form,
        status=200 if request.htmx else 400,
    )


@page_permission_required("leads.view_all_leads")
@require_POST
def saved_view_new(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = saved_view_create(
                owner=request.user, name=data["name"], query=data["query"], is_shared=data["is_shared"]
            )
        except LeadOperationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            shared = " and shared it with the team" if saved.is_shared else ""
            messages.success(request, f"Saved the view “{saved.name}”{shared}.")
            return HttpResponseRedirect(inbox_url(saved.query))
    return _render_inbox(request, query=QueryDict(form.data.get("query", "")), save_form=form, status=400)


@page_permission_required("leads.view_all_leads")
@require_POST
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    # Someone else's view (shared or not) is not there to delete: 404.
    saved = get_object_or_404(saved_view_list_own(user=request.user), pk=pk)
    saved_view_delete(saved_view=saved, actor=request.user)
    messages.success(request, f"Deleted the view “{saved.name}”.")
    return redirect("leads:inbox")


# --- One lead -------------------------------------------------------------------------------


def render_lead(
    request: HttpRequest,
    lead: Lead,
    *,
    form: StageChangeForm | None = None,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The lead page; ``form`` or ``extra`` (conversion and close forms) carry what a refused POST sent."""
    from leads.lifecycle_views import lead_lifecycle_context

    can_change_stage = lead_stage_change_allowed(user=request.user, lead=lead)
    if form is None and can_change_stage:
        form = StageChangeForm(lead=lead, user=request.user)
    breakdown = [line for line in lead.score_breakdown or [] if isinstance(line, dict)]
    submissions = lead_submissions(lead=lead)
    context = {
        "lead": lead,
        "form": form if can_change_stage else None,
        "can_claim": lead_claim_allowed(user=request.user, lead=lead),
        # Restoring is triage: marketers and admins, from the junk notice at the top.
        "can_restore": can_change_stage
        and request.user.has_perm("leads.triage_lead")
        and lead.stage == Stage.JUNK
        and lead.status == Lead.Status.ACTIVE
        and lead.can_move_to(Stage.NEW),
        "fit_lines": [line for line in breakdown if line.get("kind") == "fit"],
        "engagement_lines": [line for line in breakdown if line.get("kind") == "engagement"],
        "other_lines": [line for line in breakdown if line.get("kind") not in ("fit", "engagement")],
        "source_records": lead.source_records.select_related("source"),
        "merged_leads": lead.merged_leads.only("pk", "first_name", "last_name", "email"),
        "timeline": lead_timeline_entries(lead=lead),
        "invalid_fields": lead_invalid_fields(lead=lead),
        "submissions": submissions,
        "import_row": next(
            (
                entry.submission.row_number
                for entry in submissions
                if lead.import_job_id and entry.submission.import_job_id == lead.import_job_id
            ),
            None,
        ),
        "now": timezone.now(),
        **(extra if extra is not None else lead_lifecycle_context(request, lead)),
    }
    return render(request, "leads/detail.html", context, status=status)


@page_permission_required("leads.view_lead")
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_lead(request, get_visible_lead_or_404(user=request.user, pk=pk))


@page_permission_required("leads.view_lead")
@require_POST
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    lead_stage_change_check(user=request.user, lead=lead, to_stage=request.POST.get("stage") or None)
    form = StageChangeForm(request.POST, lead=lead, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            change = lead_change_stage(
                lead=lead,
                to_stage=data["stage"],
                actor=request.user,
                reason=data["reason"],
                reason_code=data["reason_code"],
                revisit_on=data["revisit_on"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except LeadOperationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            if change.from_stage == Stage.JUNK and change.to_stage == Stage.NEW:
                messages.success(request, "Restored from junk: the lead is New again.")
            else:
                messages.success(request, f"Moved to {Stage(change.to_stage).label}.")
            if not lead_list_visible(user=request.user).filter(pk=lead.pk).exists():
                # Handed back to marketing (a rep's recycle, say): out of this user's sight now.
                messages.info(request, f"{lead} is back with marketing.")
                return redirect("home")
            return redirect("leads:detail", pk=lead.pk)
    # Re-show the page with the form as entered and the reason it was refused.
    return render_lead(request, lead, form=form, status=400)
