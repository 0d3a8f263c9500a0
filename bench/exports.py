"""Export a million leads as CSV: time and memory of the streamed export, beside a plain COPY.

    python bench/exports.py [--leads 1000000] [--chunk 2000] [--reuse]

Builds its own database with ``--leads`` leads (copies of one template lead, varied), a tenth of
them with two source records, then streams ``leads.exports.lead_export_response`` over all of them
(the code ``GET /api/leads/export.csv`` and ``/leads/export/`` run) and prints:

1. seconds, rows/s and MB of CSV for the whole export;
2. the process's peak memory (max RSS) growth after exporting a tenth of the rows and after all of
   them: flat memory means the second figure is about the first, not ten times it;
3. beside it, measured in the same run, ``COPY (SELECT the same columns) TO STDOUT`` read to the
   end by the same process: the floor for getting the rows out of PostgreSQL at all.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django

DB = "leadflow_bench_exports"


def make_data(*, leads: int) -> None:
    """One template lead, copied ``leads`` times in SQL with its name, e-mail and time varied."""
    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead, Source

    source = Source.objects.create(name="Web", slug="web")
    fair = Source.objects.create(name="Fair", slug="fair")
    template = Lead.objects.create(
        source=source, first_name="Ann", last_name="Lee", email="template@acme.example", company="=Acme, Inc.",
        company_domain="acme.example", title="VP Sales", industry="software", employees=250, country="US",
        city="Austin", state="TX", stage="mql", pipeline_state="scored", score=72, fit_score=40, engagement_score=32,
        stage_changed_at=timezone.now(),
    )  # fmt: skip
    columns = [f.column for f in Lead._meta.concrete_fields if f.column != "id"]
    varied = {
        "email": "'lead' || n || '@firm' || (n %% 5000) || '.example'",
        "first_name": "'Person' || n",
        "created_at": "created_at - (n || ' seconds')::interval",
    }
    select = ", ".join(varied.get(column, f'"{column}"') for column in columns)
    quoted = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO leads_lead ({quoted}) SELECT {select} FROM leads_lead, generate_series(1, %s) AS n "
            "WHERE leads_lead.id = %s",
            [leads - 1, template.pk],
        )
        cursor.execute(
            "INSERT INTO leads_sourcerecord (lead_id, source_id, external_id, created_at) "
            "SELECT id, %s, 'W-' || id, now() FROM leads_lead WHERE id %% 10 = 0 "
            "UNION ALL SELECT id, %s, 'F-' || id, now() FROM leads_lead WHERE id %% 10 = 0",
            [source.pk, fair.pk],
        )
        cursor.execute("VACUUM ANALYZE")


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export(leads) -> tuple[float, float, int, int]:
    """Seconds to the first row and in all, rows and bytes, streaming ``leads`` through the export
    as a server would send it."""
    from leads.exports import lead_export_response

    start = time.perf_counter()
    response = lead_export_response(leads=leads)
    size = lines = 0
    first = None
    for block in response.streaming_content:
        size += len(block)
        lines += block.count(b"\n")
        if first is None and lines > 1:
            first = time.perf_counter() - start
    return first or 0.0, time.perf_counter() - start, lines - 1, size


def copy_baseline() -> tuple[float, int]:
    """Seconds and bytes for ``COPY`` of the same columns as CSV, read to the end."""
    from django.db import connection

    from leads.exports import LEAD_EXPORT_COLUMNS

    columns = ", ".join(f"l.{lookup}" for _, lookup in LEAD_EXPORT_COLUMNS if "__" not in lookup)
    sql = (
        f"COPY (SELECT {columns}, s.slug, "
        "(SELECT string_agg(rs.slug || ':' || r.external_id, '; ') FROM leads_sourcerecord r "
        " JOIN leads_source rs ON rs.id = r.source_id WHERE r.lead_id = l.id) "
        "FROM leads_lead l JOIN leads_source s ON s.id = l.source_id ORDER BY l.created_at DESC, l.id DESC) "
        "TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    connection.ensure_connection()
    size = 0
    start = time.perf_counter()
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for block in copy:
            size += len(block)
    return time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=2000, help="EXPORT_CHUNK_ROWS")
    parser.add_argument("--reuse", action="store_true", help="keep the leads a previous run made")
    args = parser.parse_args()
    os.environ["EXPORT_CHUNK_ROWS"] = str(args.chunk)

    setup_django(DB, fresh=not args.reuse)
    from leads.models import Lead

    start = time.perf_counter()
    if args.reuse:
        args.leads = Lead.objects.count()
    else:
        make_data(leads=args.leads)
    print(f"data: {args.leads:,} leads, {args.leads // 10 * 2:,} source records, "
          f"made in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")  # fmt: skip

    base_rss = max_rss_mb()
    tenth = Lead.objects.order_by("-created_at", "-id").values("created_at")[args.leads // 10 - 1]["created_at"]
    _, small_s, small_rows, _ = export(Lead.objects.filter(created_at__gte=tenth))
    small_growth = max_rss_mb() - base_rss
    first_s, full_s, full_rows, full_bytes = export(Lead.objects.all())
    full_growth = max_rss_mb() - base_rss
    copy_s, copy_bytes = copy_baseline()

    print(f"export of {small_rows:,} rows: {small_s:.1f} s; peak memory growth {small_growth:.0f} MB")
    print(f"export of {full_rows:,} rows (chunks of {args.chunk}): {full_s:.1f} s, {full_rows / full_s:,.0f} rows/s, "
          f"{full_bytes / 1e6:,.0f} MB of CSV, first rows after {first_s:.2f} s; "
          f"peak memory growth {full_growth:.0f} MB")  # fmt: skip
    print(f"COPY of the same columns to STDOUT: {copy_s:.1f} s, {copy_bytes / 1e6:,.0f} MB "
          f"(export / COPY: {full_s / copy_s:.1f}x)")  # fmt: skip
    flat = full_growth <= max(small_growth * 2, small_growth + 50)
    verdict = "yes" if flat else "NO"
    print(f"memory flat (growth for all rows at most twice, or 50 MB over, that for a tenth): {verdict}; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
