"""A list import in a real browser: upload, preview and mapping, start, progress, reload, error report.

In a browser because what is tested only exists there: the file input, the htmx partial polling
the progress and stopping when done, a download, and no request leaving the server.
Celery runs eagerly here, so the import finishes inside the request that starts it; the second
test drives a running import from the database to watch the page catch up by itself.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from leads.models import ImportJob, Lead
from tests.browser.conftest import RequestLog, log_in
from tests.factories import CampaignFactory, LeadDefinitionFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.browser

LIST = (
    "E-mail,First name,Surname,Company,Role at booth,Notes\n"
    "ann@acme.com,Ann,Lee,Acme,VP Marketing,Wants a demo\n"  # 2
    "bob@@acme,Bob,Stone,Acme,CTO,\n"  # 3: bad e-mail: imported as entered, reported
    "too,few\n"  # 4: wrong column count: rejected
    'eve@acme.com,"=HYPERLINK(""http://evil.example"")",Evil,Acme,CEO,x\n'  # 5: formula: rejected
    "cat@globex.com,Cat,Ng,Globex,Head of Sales,Call back\n"  # 6
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def counts(page: Page) -> dict[str, str]:
    names = ("total", "read", "imported", "merged", "rejected")
    return {name: page.locator(f"#count-{name}").inner_text() for name in names}


def test_marketer_imports_a_list_watches_it_finish_and_downloads_the_error_report(
    page: Page, requests_seen: RequestLog, screenshot, live_server
):
    UserFactory(username="mara", first_name="Mara", last_name="Lind", roles=["marketing"])
    LeadDefinitionFactory()
    fair = SourceFactory(name="Trade fair", slug="fair")
    CampaignFactory(name="Spring Expo", slug="spring-expo", source=fair)

    log_in(page, "mara")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()
    page.get_by_role("link", name="Import a list").first.click()

    expect(page.get_by_role("heading", name="Import a list")).to_be_visible()
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "expo.csv", "mimeType": "text/csv", "buffer": LIST.encode()}]
    )
    page.get_by_label("Source", exact=True).select_option(label="Trade fair")
    page.get_by_label("Campaign").select_option(label="Spring Expo · Trade fair")
    screenshot("import-upload")
    page.get_by_role("button", name="Upload and preview").click()

    # The preview: the first rows as read, a bad row flagged, and the suggested mapping.
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    job = ImportJob.objects.get()
    expect(page).to_have_url(re.compile(rf"/imports/{job.pk}/$"))
    preview = page.locator("#preview-table tbody tr")
    expect(preview).to_have_count(5)
    expect(preview.nth(2)).to_contain_text("Will be rejected")
    expect(preview.nth(2)).to_contain_text("The row has 2 columns; the header has 6.")
    expect(preview.nth(3).locator("td.cell-formula")).to_have_text('=HYPERLINK("http://evil.example")')
    mapping = page.locator("#mapping-table")
    expect(mapping.get_by_label("E-mail")).to_have_value("email")
    expect(mapping.get_by_label("First name")).to_have_value("first_name")
    expect(mapping.get_by_label("Surname")).to_have_value("last_name")
    expect(mapping.get_by_label("Role at booth")).to_have_value("")
    expect(page.get_by_label("Campaign")).to_have_value(str(job.campaign_id))
    assert (job.status, job.started_at, Lead.objects.count()) == (ImportJob.Status.PENDING, None, 0)

    mapping.get_by_label("Role at booth").select_option(label="Job title")
    screenshot("import-preview")
    page.get_by_role("button", name="Import 5 rows").click()

    # The import ran in the request (eager Celery); the progress card shows it finished.
    expect(page).to_have_url(re.compile(rf"/imports/{job.pk}/$"))
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-state", "done")
    expect(progress.locator(".import-status")).to_have_text("Done")
    expect(page.locator("#import-bar")).to_have_attribute("value", "100")
    expect(page.locator("#progress-percent")).to_have_text("100%")
    final = {"total": "5", "read": "5", "imported": "3", "merged": "0", "rejected": "2"}
    assert counts(page) == final
    expect(page.locator("#count-processed")).to_contain_text("3")
    expect(page.locator("#problems-table tbody tr")).to_have_count(3)
    assert progress.get_attribute("hx-trigger") is None  # finished: nothing polls
    screenshot("import-progress")

    page.reload()
    expect(progress).to_have_attribute("data-state", "done")
    assert counts(page) == final

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"Download the error report")).click()
    download = download_info.value
    assert download.suggested_filename == f"import-{job.pk}-errors.csv"
    with Path(download.path()).open(encoding="utf-8-sig", newline="") as handle:
        report = list(csv.reader(handle))
    assert report[0] == ["row", "field", "problem", "value", "outcome"]
    rows = {line[0]: line for line in report[1:]}
    assert sorted(rows) == ["3", "4", "5"]
    assert (rows["3"][1], rows["3"][3], rows["3"][4]) == ("email", "bob@@acme", "imported, value kept as entered")
    assert (rows["4"][1], rows["4"][4]) == ("", "rejected")
    assert rows["5"][1] == "first_name"
    assert rows["5"][3] == '\'=HYPERLINK("http://evil.example")'  # harmless in a spreadsheet

    ann = Lead.objects.get(email="ann@acme.com")
    assert (ann.title, ann.campaign.slug, ann.extra) == ("VP Marketing", "spring-expo", {"Notes": "Wants a demo"})

    page.get_by_role("link", name="See the imported leads in the inbox").click()
    expect(page).to_have_url(re.compile(rf"/leads/\?import_job={job.pk}$"))
    expect(page.locator("#inbox-table tbody tr")).to_have_count(3)

    assert any(url.endswith("/static/js/htmx.min.js") for url in requests_seen.urls)
    assert requests_seen.foreign() == []


def test_a_running_import_updates_itself_until_done_and_then_stops_polling(
    page: Page, requests_seen: RequestLog, screenshot
):
    UserFactory(username="mara", roles=["marketing"])
    now = timezone.now()
    job = ImportJob.objects.create(
        source=SourceFactory(name="Webinar list", slug="webinar"),
        file="imports/big.csv",
        file_name="big.csv",
        headers=["email"],
        mapping={"email": "email"},
        status=ImportJob.Status.PROCESSING,
        started_at=now,
        rows_total=2000,
        rows_read=800,
        rows_imported=780,
        rows_rejected=20,
        rows_processed=480,
    )

    log_in(page, "mara")
    page.goto(f"/imports/{job.pk}/")

    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-state", "processing")
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator("#progress-percent")).to_have_text("25%")  # (480 + 20) of 2,000 rows through
    screenshot("import-running", full_page=False)

    ImportJob.objects.filter(pk=job.pk).update(rows_read=2000, rows_imported=1960, rows_rejected=40,
                                               rows_processed=1000)  # fmt: skip
    expect(page.locator("#progress-percent")).to_have_text("52%")
    expect(page.locator("#count-read")).to_have_text("2,000")

    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, rows_processed=1960, read_at=now, finished_at=timezone.now()
    )
    expect(progress).to_have_attribute("data-state", "done")
    expect(page.locator("#progress-percent")).to_have_text("100%")
    expect(page.locator("#count-imported")).to_have_text("1,960")

    polls = sum("/progress/" in url for url in requests_seen.urls)
    page.wait_for_timeout(2500)
    assert sum("/progress/" in url for url in requests_seen.urls) == polls  # polling stopped
    assert requests_seen.foreign() == []
