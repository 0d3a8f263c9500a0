"""The dashboard page and the CSV download of each report table."""

from __future__ import annotations

import csv
import io
import json
from html import unescape

import pytest
from django.utils import timezone

from tests.factories import PASSWORD, CampaignFactory, LeadFactory
from tests.reports.data import MARCH

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_client(client, marketer):
    client.login(username=marketer.username, password=PASSWORD)
    return client


def download(client, name: str, params: dict) -> list[list[str]]:
    answer = client.get(f"/reports/{name}.csv", params)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"] == f'attachment; filename="{name}-report.csv"'
    text = b"".join(answer.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_dashboard_shows_every_report_with_chart_data_table_and_csv_link(marketer_client, report_data):
    answer = marketer_client.get("/reports/", MARCH)
    assert answer.status_code == 200
    html = answer.content.decode()
    for name in ("funnel", "sources", "campaigns", "alignment", "reps", "load", "leaks"):
        assert f'id="report-{name}"' in html
        assert f'id="report-{name}-table"' in html
        assert f"/reports/{name}.csv?date_from=2026-03-01&amp;date_to=2026-03-31" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "<script>" not in html  # no inline code: chart data rides in data-chart attributes
    funnel = answer.context["panels"][0].chart
    assert funnel["labels"] == ["New", "MQL", "SAL (accepted)", "SQL", "Opportunity", "Won"]
    assert funnel["datasets"][0]["data"] == [7, 5, 3, 3, 3, 2]
    assert ">12,000.00<" in html  # web's revenue in the sources table


def test_dashboard_defaults_to_the_last_90_days(marketer_client, report_data):
    today = timezone.localdate()
    LeadFactory(source=report_data.web)  # created now: the only lead in the last 90 days
    answer = marketer_client.get("/reports/")
    assert answer.context["query"]["date_to"] == today.isoformat()
    assert answer.context["panels"][0].chart["datasets"][0]["data"][0] == 1


def test_htmx_filter_swaps_only_the_panels(marketer_client, report_data):
    answer = marketer_client.get("/reports/", {**MARCH, "campaign": "expo"}, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert html.lstrip().startswith('<div id="report-panels"')
    assert "<html" not in html
    assert answer.context["panels"][0].chart["datasets"][0]["data"] == [2, 1, 1, 1, 1, 1]
    attribute = html.split('<canvas data-chart="')[1].split('"')[0]
    assert json.loads(unescape(attribute))["datasets"][0]["data"] == [2, 1, 1, 1, 1, 1]


def test_bad_filters_are_named_on_the_page(marketer_client, report_data):
    answer = marketer_client.get("/reports/", {"date_from": "2026-03-31", "date_to": "2026-03-01"})
    assert answer.status_code == 400
    assert "The end date must be on or after the start date." in answer.content.decode()
    assert answer.context["panels"] == []


def test_reps_may_not_open_the_dashboard_or_download(client, report_data):
    client.login(username="rick", password=PASSWORD)
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/funnel.csv").status_code == 403
    client.logout()
    assert client.get("/reports/").status_code == 302  # to the login page


def test_csv_is_the_table_with_the_same_filters(marketer_client, report_data):
    rows = download(marketer_client, "sources", MARCH)
    assert rows[0][:6] == ["Name", "Leads", "MQLs", "Accepted", "Won", "Revenue"]
    assert rows[1] == ["Events", "2", "1", "1", "1", "30000.00", "3000.00", "1500.00", "3000.00", "3000.00", "10.0"]
    assert rows[2] == ["Website form", "5", "4", "2", "1", "12000.00", "1500.00", "300.00", "375.00", "1500.00", "8.0"]
    funnel = download(marketer_client, "funnel", {**MARCH, "territory": "west"})
    assert [row[:2] for row in funnel[1:]] == [
        ["New", "3"],
        ["MQL", "3"],
        ["SAL (accepted)", "1"],
        ["SQL", "1"],
        ["Opportunity", "1"],
        ["Won", "1"],
    ]


def test_csv_neutralizes_formula_cells(marketer_client, report_data):
    evil = CampaignFactory(source=report_data.web, name='=HYPERLINK("http://x.example","win")', slug="evil", cost=0)
    LeadFactory(source=report_data.web, campaign=evil)
    rows = download(marketer_client, "campaigns", {"campaign": "evil"})
    assert rows[1][0] == '\'=HYPERLINK("http://x.example","win")'
    assert rows[1][1] == "1"


def test_csv_of_an_unknown_report_or_with_a_bad_filter(marketer_client, report_data):
    assert marketer_client.get("/reports/nothing.csv").status_code == 404
    answer = marketer_client.get("/reports/funnel.csv", {"source": "nowhere"})
    assert answer.status_code == 400
    assert "source:" in answer.content.decode()


def test_alignment_csv_has_a_column_per_rejection_reason(marketer_client, report_data):
    rows = download(marketer_client, "alignment", MARCH)
    assert rows[0] == [
        "Source",
        "Accepted",
        "Rejected",
        "Acceptance rate",
        "Rejected: Wrong territory",
        "Rejected: Not a fit",
        "Rejected: Duplicate",
        "Rejected: Junk",
        "Rejected: Not ready (nurture)",
    ]
    assert rows[1:] == [
        ["Events", "1", "1", "0.5", "1", "0", "0", "0", "0"],
        ["Website form", "2", "1", "0.6667", "0", "1", "0", "0", "0"],
    ]
