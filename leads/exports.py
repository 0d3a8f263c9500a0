"""Lead lists as CSV: the rows an inbox or API filter selects, streamed through a server-side cursor.

The filters are ``leads.filters.LeadFilter`` (the inbox's and the API's) and visibility is
``leads.selectors.lead_list_visible``, so an export holds exactly what its caller sees in the list.
Formatting, neutralization and streaming are ``leadflow.csv``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from leadflow.csv import csv_response
from leads.models import Lead, SourceRecord

#: (header, how to read it from a lead) for every column, in order.
LEAD_EXPORT_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda lead: lead.pk),
    ("first_name", lambda lead: lead.first_name),
    ("last_name", lambda lead: lead.last_name),
    ("email", lambda lead: lead.email),
    ("phone", lambda lead: lead.phone),
    ("title", lambda lead: lead.title),
    ("company", lambda lead: lead.company),
    ("company_domain", lambda lead: lead.company_domain),
    ("website", lambda lead: lead.website),
    ("industry", lambda lead: lead.industry),
    ("employees", lambda lead: lead.employees),
    ("city", lambda lead: lead.city),
    ("state", lambda lead: lead.state),
    ("postal_code", lambda lead: lead.postal_code),
    ("country", lambda lead: lead.country),
    ("source", lambda lead: lead.source.slug),
    ("campaign", lambda lead: lead.campaign.slug if lead.campaign_id else ""),
    ("stage", lambda lead: lead.stage),
    ("status", lambda lead: lead.status),
    ("score", lambda lead: lead.score),
    ("fit_score", lambda lead: lead.fit_score),
    ("engagement_score", lambda lead: lead.engagement_score),
    ("owner", lambda lead: lead.owner.get_username() if lead.owner_id else ""),
    ("junk_reason", lambda lead: lead.junk_reason),
    ("created_at", lambda lead: lead.created_at),
    ("stage_changed_at", lambda lead: lead.stage_changed_at),
    ("sla_due_at", lambda lead: lead.sla_due_at),
    ("converted_at", lambda lead: lead.converted_at),
    ("revisit_on", lambda lead: lead.revisit_on),
    # Every source-system record merged into the lead, as "source:external id", separated by "; ".
    (
        "source_record_ids",
        lambda lead: "; ".join(f"{r.source.slug}:{r.external_id}" for r in lead.source_records.all()),
    ),
]


def lead_export_rows(*, leads: QuerySet[Lead], chunk_size: int | None = None) -> Iterator[list[Any]]:
    """One list of cells per lead, read ``chunk_size`` rows at a time (a server-side cursor on PostgreSQL;
    the source records of each chunk in one more query), newest first. Nothing is read until asked."""
    chunk_size = chunk_size or settings.EXPORT_CHUNK_ROWS
    rows = (
        leads.select_related("source", "campaign", "owner")
        .prefetch_related(Prefetch("source_records", queryset=SourceRecord.objects.select_related("source")))
        .order_by("-created_at", "-id")
    )
    readers = [read for _, read in LEAD_EXPORT_COLUMNS]
    for lead in rows.iterator(chunk_size=chunk_size):
        yield [read(lead) for read in readers]


def lead_export_response(*, leads: QuerySet[Lead], name: str = "leads") -> StreamingHttpResponse:
    """The download of ``leads`` (already filtered and narrowed to what the caller sees)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(
        filename=f"{name}-{stamp}.csv",
        header=[header for header, _ in LEAD_EXPORT_COLUMNS],
        rows=lead_export_rows(leads=leads),
    )
