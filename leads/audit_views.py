"""The audit log for admins: a filterable page (actor, action, object, dates) and its CSV export.

Filters are ``leads.filters.AuditEventFilter``, the same as ``GET /api/audit-events/``.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leadflow.csv import csv_response
from leads.filters import AuditEventFilter
from leads.models import AuditEvent
from leads.permissions import page_permission_required

PAGE_SIZE = 100


def _filtered(request: HttpRequest) -> AuditEventFilter:
    events = AuditEvent.objects.select_related("actor", "content_type").order_by("-id")
    return AuditEventFilter(request.GET, queryset=events)


@require_GET
@page_permission_required("leads.view_auditevent")
def audit_log(request: HttpRequest) -> HttpResponse:
    """Newest first, a hundred a page; "Older" continues below the last id shown (keyset, no OFFSET)."""
    filterset = _filtered(request)
    events = filterset.qs
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(pk__lt=int(before))
    page = list(events[: PAGE_SIZE + 1])
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "filter": filterset,
        "events": page[:PAGE_SIZE],
        "older_query": f"{query.urlencode()}&before={older}".lstrip("&") if older else "",
        "export_query": query.urlencode(),
        "errors": filterset.errors,
    }
    return render(request, "leads/audit.html", context)


@require_GET
@page_permission_required("leads.view_auditevent")
def audit_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every event the filters select, streamed as CSV (safe to open in a spreadsheet)."""
    filterset = _filtered(request)
    events = filterset.qs if filterset.is_valid() else AuditEvent.objects.none()
    header = ["time", "actor", "action", "object_type", "object_id", "object", "changes", "ip_address"]
    rows = (
        [
            event.created_at.isoformat(),
            event.actor.get_username() if event.actor else "",
            event.action,
            f"{event.content_type.app_label}.{event.content_type.model}",
            event.object_id,
            event.object_repr,
            json.dumps(event.changes, ensure_ascii=False, sort_keys=True),
            event.ip_address or "",
        ]
        for event in events.iterator(chunk_size=2000)
    )
    return csv_response(filename="audit-log.csv", header=header, rows=rows)
