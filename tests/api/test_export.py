"""Lead lists as CSV: ``GET /api/leads/export.csv`` and the inbox's ``/leads/export/``.

Same filters as the list, only what the caller may see, spreadsheet-safe cells, every merged
source record, and streamed through a server-side cursor in chunks.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, SourceRecord, Stage
from tests.factories import CampaignFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db

API = "/api/leads/export.csv"
PAGE = "/leads/export/"


def rows_of(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_every_column_of_every_visible_lead_newest_first(client_as, marketer):
    source = SourceFactory(slug="web")
    older = LeadFactory(source=source, first_name="Ann", email="ann@acme.example", score=71)
    newer = LeadFactory(source=source, first_name="Bob", campaign=CampaignFactory(slug="expo"))

    response = client_as(marketer).get(API)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    rows = rows_of(response)
    assert [row["id"] for row in rows] == [str(newer.pk), str(older.pk)]
    assert rows[1]["first_name"] == "Ann"
    assert rows[1]["email"] == "ann@acme.example"
    assert rows[1]["score"] == "71"
    assert rows[1]["source"] == "web"
    assert rows[0]["campaign"] == "expo"
    assert list(rows[0])[:3] == ["id", "first_name", "last_name"]
    assert "source_record_ids" in rows[0]


def test_cells_a_spreadsheet_would_run_are_neutralized(client_as, marketer):
    LeadFactory(
        first_name='=HYPERLINK("http://evil.example","click")',
        last_name="+SUM(A1)",
        company="-2+3",
        title="@cmd",
        city="\tTab",
        employees=250,
    )

    [row] = rows_of(client_as(marketer).get(API))

    assert row["first_name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["last_name"] == "'+SUM(A1)"
    assert row["company"] == "'-2+3"
    assert row["title"] == "'@cmd"
    assert row["city"] == "'\tTab"
    assert row["employees"] == "250"


def test_every_source_record_merged_into_a_lead_is_listed(client_as, marketer):
    web, fair = SourceFactory(slug="web"), SourceFactory(slug="fair")
    lead = LeadFactory(source=web)
    SourceRecord.objects.create(lead=lead, source=web, external_id="F-1")
    SourceRecord.objects.create(lead=lead, source=fair, external_id="=ROW-9")

    [row] = rows_of(client_as(marketer).get(API))

    assert row["source_record_ids"] == "web:F-1; fair:=ROW-9"


def test_the_list_filters_apply(client_as, marketer):
    web = SourceFactory(slug="web")
    junk = LeadFactory(source=web, stage=Stage.JUNK, junk_reason="Spam")
    LeadFactory(source=web, stage=Stage.NEW)
    LeadFactory(stage=Stage.JUNK, junk_reason="Spam")
    client = client_as(marketer)

    rows = rows_of(client.get(API, {"stage": "junk", "source": "web"}))
    refused = client.get(API, {"score_min": "lots"})

    assert [row["id"] for row in rows] == [str(junk.pk)]
    assert refused.status_code == 400
    assert "score_min" in refused.json()


def test_a_rep_exports_only_what_they_may_see(client_as, rep, other_rep):
    mine = LeadFactory(owner=rep, stage=Stage.SAL)
    claimable = LeadFactory(stage=Stage.MQL)
    LeadFactory(owner=other_rep, stage=Stage.SAL)
    LeadFactory(stage=Stage.NEW)

    rows = rows_of(client_as(rep).get(API))

    assert {row["id"] for row in rows} == {str(mine.pk), str(claimable.pk)}


def test_signed_out_callers_get_nothing(api_client):
    LeadFactory()

    assert api_client.get(API).status_code in (401, 403)


def test_a_csv_accept_header_is_fine(client_as, marketer):
    LeadFactory()

    response = client_as(marketer).get(API, HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert len(rows_of(response)) == 1


def test_rows_stream_in_chunks_through_a_cursor_not_a_list(client_as, marketer, settings):
    """Nothing is read before the body is; then the rows come ``EXPORT_CHUNK_ROWS`` at a time (one
    source-record query per chunk), so memory holds one chunk, whatever the export's size."""
    settings.EXPORT_CHUNK_ROWS = 50
    for lead in [LeadFactory() for _ in range(120)]:
        SourceRecord.objects.create(lead=lead, source=lead.source, external_id=f"R-{lead.pk}")

    with CaptureQueriesContext(connection) as made:
        response = client_as(marketer).get(API)
    assert response.streaming
    lead_reads_before = [q for q in made.captured_queries if 'FROM "leads_lead"' in q["sql"]]
    body = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as header:
        first = next(body)
    with CaptureQueriesContext(connection) as rest:
        remainder = b"".join(body)

    assert lead_reads_before == []  # the view only built the query
    assert first.decode().lstrip("\ufeff").startswith("id,first_name")
    assert header.captured_queries == []
    record_reads = [q for q in rest.captured_queries if 'FROM "leads_sourcerecord"' in q["sql"]]
    assert len(record_reads) == 3  # 120 rows in chunks of 50
    assert remainder.count(b"\r\n") == 120


def test_the_inbox_downloads_what_it_shows(client, marketer):
    web = SourceFactory(slug="web")
    shown = LeadFactory(source=web, stage=Stage.MQL)
    LeadFactory(source=web, stage=Stage.NEW)
    merged = LeadFactory(source=web, stage=Stage.MQL, status=Lead.Status.MERGED, merged_into=shown)
    client.force_login(marketer)

    page = client.get("/leads/", {"stage": "mql", "source": "web"}).content.decode()
    rows = rows_of(client.get(PAGE, {"stage": "mql", "source": "web"}))

    assert 'href="/leads/export/?stage=mql&amp;source=web"' in page
    assert [row["id"] for row in rows] == [str(shown.pk)]  # the inbox hides merged leads, so does its export
    assert str(merged.pk) not in {row["id"] for row in rows}


def test_the_inbox_export_refuses_filters_it_cannot_read_and_reps_have_no_inbox(client, marketer, rep):
    client.force_login(marketer)
    refused = client.get(PAGE, {"created_after": "yesterday"})
    client.force_login(rep)
    forbidden = client.get(PAGE)

    assert refused.status_code == 400
    assert "created_after" in refused.content.decode()
    assert forbidden.status_code == 403
