"""Lead pages: the start page, the marketers' inbox and a lead's own page.

Views fetch, validate with a form, call one service, and redirect; who may see and do what
is asked of ``leads.permissions``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from leads.forms import InboxFilter, StageChangeForm
from leads.models import Lead, Stage
from leads.permissions import (
    get_visible_lead_or_404,
    lead_claim_allowed,
    lead_stage_change_allowed,
    lead_stage_change_check,
    page_permission_required,
)
from leads.roles import ADMIN, MARKETING, SALES, user_roles
from leads.selectors import lead_list_for_inbox, lead_timeline
from leads.services import LeadOperationError, lead_change_stage

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


@page_permission_required("leads.view_all_leads")
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    lead_filter = InboxFilter(request.GET or None, queryset=lead_list_for_inbox(user=request.user))
    first_query = request.GET.copy()
    first_query.pop("cursor", None)
    # htmx swaps only the results; a history restore (back button after a cache miss) needs the page.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "partial": partial,
        "filter": lead_filter,
        "form": lead_filter.form,
        "page": inbox_page(lead_filter.qs, query=request.GET),
        "first_query": first_query.urlencode(),
        "is_filtered": any(key != "cursor" and any(request.GET.getlist(key)) for key in request.GET),
    }
    response = render(request, "leads/_inbox_results.html" if partial else "leads/inbox.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- One lead -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime.datetime
    kind: str  # "activity" or "stage"
    title: str
    body: str
    actor: Any
    activity_kind: str = ""
    url: str = ""


def lead_timeline_entries(*, lead: Lead) -> list[TimelineEntry]:
    """Activities and stage changes in one list, newest first."""
    entries = [
        TimelineEntry(
            at=activity.occurred_at,
            kind="activity",
            title=activity.subject,
            body=activity.body,
            actor=activity.actor,
            activity_kind=activity.get_kind_display(),
            url=activity.url,
        )
        for activity in lead_timeline(lead=lead)
    ]
    entries += [
        TimelineEntry(
            at=change.created_at,
            kind="stage",
            title=f"{Stage(change.from_stage).label} → {Stage(change.to_stage).label}",
            body=change.reason,
            actor=change.actor,
        )
        for change in lead.stage_changes.select_related("actor")
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def _render_lead(
    request: HttpRequest, lead: Lead, *, form: StageChangeForm | None = None, status: int = 200
) -> HttpResponse:
    can_change_stage = lead_stage_change_allowed(user=request.user, lead=lead)
    if form is None and can_change_stage:
        form = StageChangeForm(lead=lead)
    breakdown = [line for line in lead.score_breakdown or [] if isinstance(line, dict)]
    context = {
        "lead": lead,
        "form": form if can_change_stage else None,
        "can_claim": lead_claim_allowed(user=request.user, lead=lead),
        "fit_lines": [line for line in breakdown if line.get("kind") == "fit"],
        "engagement_lines": [line for line in breakdown if line.get("kind") == "engagement"],
        "other_lines": [line for line in breakdown if line.get("kind") not in ("fit", "engagement")],
        "source_records": lead.source_records.select_related("source"),
        "merged_leads": lead.merged_leads.only("pk", "first_name", "last_name", "email"),
        "timeline": lead_timeline_entries(lead=lead),
        "now": timezone.now(),
    }
    return render(request, "leads/detail.html", context, status=status)


@page_permission_required("leads.view_lead")
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_lead(request, get_visible_lead_or_404(user=request.user, pk=pk))


@page_permission_required("leads.view_lead")
@require_POST
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_visible_lead_or_404(user=request.user, pk=pk)
    lead_stage_change_check(user=request.user, lead=lead)
    form = StageChangeForm(request.POST, lead=lead)
    if form.is_valid():
        try:
            change = lead_change_stage(
                lead=lead,
                to_stage=form.cleaned_data["stage"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except LeadOperationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, f"Moved to {Stage(change.to_stage).label}.")
            return redirect("leads:detail", pk=lead.pk)
    # Re-show the page with the form as entered and the reason it was refused.
    return _render_lead(request, lead, form=form, status=400)
