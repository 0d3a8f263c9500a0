"""Lead lists as CSV: the rows an inbox or API filter selects, streamed through a server-side cursor.

The filters are ``leads.filters.LeadFilter`` (the inbox's and the API's) and visibility is
``leads.selectors.lead_list_visible``, so an export holds exactly what its caller sees in the list.
Formatting, neutralization and streaming are ``leadflow.csv``'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from leadflow.csv import csv_response
from leads.models import Lead, SourceRecord

#: (header, the lead column or lookup it reads), in order; ``source_record_ids`` is filled in per chunk.
LEAD_EXPORT_COLUMNS: list[tuple[str, str]] = [
    ("id", "id"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("title", "title"),
    ("company", "company"),
    ("company_domain", "company_domain"),
    ("website", "website"),
    ("industry", "industry"),
    ("employees", "employees"),
    ("city", "city"),
    ("state", "state"),
    ("postal_code", "postal_code"),
    ("country", "country"),
    ("source", "source__slug"),
    ("campaign", "campaign__slug"),
    ("stage", "stage"),
    ("status", "status"),
    ("score", "score"),
    ("fit_score", "fit_score"),
    ("engagement_score", "engagement_score"),
    ("owner", "owner__username"),
    ("junk_reason", "junk_reason"),
    ("created_at", "created_at"),
    ("stage_changed_at", "stage_changed_at"),
    ("sla_due_at", "sla_due_at"),
    ("converted_at", "converted_at"),
    ("revisit_on", "revisit_on"),
]
#: Every source-system record merged into the lead, as "source:external id", separated by "; ".
SOURCE_RECORDS_HEADER = "source_record_ids"


def _source_records(lead_ids: list[int]) -> dict[int, str]:
    """The source records of ``lead_ids``, in one query, as each lead's cell."""
    cells: dict[int, list[str]] = defaultdict(list)
    records = (
        SourceRecord.objects.filter(lead_id__in=lead_ids)
        .order_by("lead_id", "created_at", "id")
        .values_list("lead_id", "source__slug", "external_id")
    )
    for lead_id, slug, external_id in records:
        cells[lead_id].append(f"{slug}:{external_id}")
    return {lead_id: "; ".join(items) for lead_id, items in cells.items()}


def lead_export_rows(*, leads: QuerySet[Lead], chunk_size: int | None = None) -> Iterator[list[Any]]:
    """One list of cells per lead, newest first, read ``chunk_size`` rows at a time through a server-side
    cursor on PostgreSQL (plain tuples, no model instances), with each chunk's source records in one
    more query. Nothing is read until asked, and one chunk is held at a time."""
    chunk_size = chunk_size or settings.EXPORT_CHUNK_ROWS
    # In a transaction the cursor is declared without WITH HOLD, so PostgreSQL hands rows over as it
    # produces them instead of materializing the whole result before the first one (read-only: if the
    # download is abandoned, closing this generator just ends the transaction).
    with transaction.atomic(using=leads.db):
        rows = (
            leads.order_by("-created_at", "-id")
            .values_list(*(lookup for _, lookup in LEAD_EXPORT_COLUMNS))
            .iterator(chunk_size=chunk_size)
        )
        while chunk := list(islice(rows, chunk_size)):
            records = _source_records([row[0] for row in chunk])
            for row in chunk:
                yield [*row, records.get(row[0], "")]


def lead_export_response(*, leads: QuerySet[Lead], name: str = "leads") -> StreamingHttpResponse:
    """The download of ``leads`` (already filtered and narrowed to what the caller sees)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(
        filename=f"{name}-{stamp}.csv",
        header=[*(header for header, _ in LEAD_EXPORT_COLUMNS), SOURCE_RECORDS_HEADER],
        rows=lead_export_rows(leads=leads),
    )
