"""The reports dashboard in a real browser: a marketer opens it, filters by a campaign, sees the
charts change, switches a chart to its table and downloads the CSV.

A browser is needed because the charts exist only there: Chart.js (vendored) draws them from the
JSON data islands through app.js, and htmx swaps the panels when a filter changes.
"""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import RequestLog, log_in
from tests.factories import UserFactory
from tests.reports.data import make_report_data

pytestmark = pytest.mark.browser


def chart_data(page: Page, name: str) -> list:
    """What Chart.js is drawing in the report's chart: its first dataset."""
    return page.evaluate(
        """(name) => {
            const chart = Chart.getChart(document.querySelector(`#report-${name} canvas`));
            return chart ? chart.data.datasets[0].data : null;
        }""",
        name,
    )


def wait_for_chart(page: Page, name: str, data: list) -> None:
    """Until the report's chart draws ``data`` (htmx swaps the panels, then app.js redraws)."""
    page.wait_for_function(
        """([name, expected]) => {
            const canvas = document.querySelector(`#report-${name} canvas`);
            const chart = canvas && Chart.getChart(canvas);
            return !!chart && JSON.stringify(chart.data.datasets[0].data) === JSON.stringify(expected);
        }""",
        arg=[name, data],
    )


def test_marketer_filters_the_dashboard_by_campaign_and_downloads_a_table(page, requests_seen: RequestLog, screenshot):
    make_report_data()
    UserFactory(username="mara", first_name="Mara", last_name="Lind", roles=["marketing"])
    log_in(page, "mara")

    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    page.get_by_label("From").fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Apply").click()
    wait_for_chart(page, "funnel", [7, 5, 3, 3, 3, 2])
    assert chart_data(page, "sources") == [2, 5]  # leads: Events, Website form
    screenshot("dashboard")

    page.get_by_label("Campaign", exact=True).select_option(label="Spring webinar")
    wait_for_chart(page, "funnel", [2, 2, 2, 2, 2, 1])
    assert chart_data(page, "sources") == [2]
    assert "campaign=spring" in page.url

    funnel = page.locator("#report-funnel")
    funnel.get_by_role("button", name="Table").click()
    table = funnel.locator("table")
    expect(table).to_be_visible()
    expect(funnel.locator("canvas")).to_be_hidden()
    expect(table.locator("tbody tr").nth(5)).to_contain_text("Won")
    expect(table.locator("tbody tr").nth(5)).to_contain_text("50.0 %")
    expect(funnel.get_by_role("button", name="Chart")).to_have_attribute("aria-pressed", "true")

    with page.expect_download() as info:
        funnel.get_by_role("link", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "funnel-report.csv"
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Stage", "Leads", "Conversion from previous", "Median time from previous (hours)"]
    assert rows[1:] == [
        ["New", "2", "", ""],
        ["MQL", "2", "1.0", "3.0"],
        ["SAL (accepted)", "2", "1.0", "7.0"],
        ["SQL", "2", "1.0", "24.0"],
        ["Opportunity", "2", "1.0", "24.0"],
        ["Won", "1", "0.5", "48.0"],
    ]
    screenshot("dashboard-spring")
    assert any(url.endswith("/static/vendor/chartjs/chart.umd.min.js") for url in requests_seen.urls)
    assert requests_seen.foreign() == []
