"""The list-import pages: upload, preview and mapping, start, progress, error report, and who may use them."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from leads.models import ImportJob, Lead, Source
from tests.factories import CampaignFactory, LeadDefinitionFactory, SourceFactory

pytestmark = pytest.mark.django_db

NEW = reverse("leads:import_new")
HEADER = "email,First Name,last_name,company,Booth notes\n"


def csv_file(text: str, name: str = "expo.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def good_rows(count: int, start: int = 0) -> str:
    return "".join(f"ann{n}@acme.com,Ann{n},Lee,Acme,Booth {n}\n" for n in range(start, start + count))


def detail_url(job: ImportJob) -> str:
    return reverse("leads:import_detail", args=[job.pk])


def mapping_post(job: ImportJob, mapping: dict[str, str], **extra: object) -> dict[str, object]:
    """The preview form's fields: one drop-down per column, in the file's order."""
    data: dict[str, object] = {f"column_{i}": mapping.get(header, "") for i, header in enumerate(job.headers)}
    return data | extra


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def source(db):
    LeadDefinitionFactory()
    return SourceFactory(name="Trade fair", slug="fair")


@pytest.fixture
def importer(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def upload(importer, source):
    """POST a file to the upload page; returns the job it made."""

    def post(text: str, *, name: str = "expo.csv", to: Source | None = None, **extra: object) -> ImportJob:
        response = importer.post(NEW, {"file": csv_file(text, name), "source": (to or source).pk, **extra})
        assert response.status_code == 302, response.content.decode()[:2000]
        job = ImportJob.objects.latest("id")
        assert response.url == detail_url(job)
        return job

    return post


@pytest.fixture
def start(importer, django_capture_on_commit_callbacks):
    """POST the mapping form; the reader and the pipeline run eagerly once the request commits."""

    def post(job: ImportJob, mapping: dict[str, str] | None = None, **extra: object):
        with django_capture_on_commit_callbacks(execute=True):
            response = importer.post(detail_url(job), mapping_post(job, mapping or job.mapping, **extra))
        job.refresh_from_db()
        return response

    return post


def test_upload_stores_the_file_and_shows_the_preview_with_the_suggested_mapping(importer, upload, source):
    job = upload(HEADER + good_rows(14))

    assert (job.status, job.started_at, job.rows_total, job.created_by.username) == (
        ImportJob.Status.PENDING, None, 14, "mara"
    )  # fmt: skip
    assert job.headers == ["email", "First Name", "last_name", "company", "Booth notes"]
    assert not Lead.objects.exists()

    response = importer.get(detail_url(job))

    assert response.status_code == 200
    assert [field.value() for field in response.context["form"].columns()] == [
        "email", "first_name", "last_name", "company", ""
    ]  # fmt: skip
    assert [row.number for row in response.context["rows"]] == list(range(2, 12))  # the first 10 rows
    html = response.content.decode()
    preview = html.split('id="preview-table"')[1]
    assert "ann0@acme.com" in preview
    assert "ann9@acme.com" in preview  # row 11, the 10th below the header
    assert "ann10@acme.com" not in preview
    assert '<option value="" selected>Keep as extra field</option>' in html
    assert "Import 14 rows" in html


def test_the_preview_marks_the_rows_that_will_be_rejected(importer, upload):
    job = upload(HEADER + good_rows(1) + "too,few\n" + "eve@acme.com,=1+2,Evil,Acme,x\n")

    response = importer.get(detail_url(job))

    first, short, formula = response.context["rows"]
    assert (first.problem, first.has_formula) == ("", False)
    assert short.problem == "The row has 2 columns; the header has 5."
    assert formula.has_formula
    assert [cell.is_formula for cell in formula.cells] == [False, True, False, False, False]
    html = response.content.decode()
    assert "Will be rejected" in html
    assert 'class="cell-formula"' in html


def test_the_mapping_chosen_for_a_source_is_prefilled_on_its_next_upload(upload, start, importer, source):
    text = "Work mail,Who,Org\nann@acme.com,Ann,Acme\n"
    first = upload(text)
    assert first.mapping == {"Work mail": "", "Who": "", "Org": ""}  # nothing to guess from these headers
    start(first, {"Work mail": "email", "Who": "first_name", "Org": "company"})

    second = upload("Work mail,Who,Org,Notes\nbob@acme.com,Bob,Acme,hi\n")
    response = importer.get(detail_url(second))

    assert [field.value() for field in response.context["form"].columns()] == ["email", "first_name", "company", ""]
    other = upload(text, to=SourceFactory(slug="webinar"))
    assert other.mapping == {"Work mail": "", "Who": "", "Org": ""}  # remembered per source


def test_a_column_unmapped_for_a_source_stays_unmapped_on_its_next_upload(upload, start, importer):
    first = upload(HEADER + good_rows(1))
    start(first, first.mapping | {"company": "", "Booth notes": "company"})

    second = upload(HEADER + good_rows(1, start=7))

    assert second.mapping == {"email": "email", "First Name": "first_name", "last_name": "last_name",
                              "company": "", "Booth notes": "company"}  # fmt: skip


def test_starting_with_a_changed_mapping_imports_the_rows_with_that_mapping(upload, start, source):
    campaign = CampaignFactory(name="Spring Expo", slug="spring-expo")
    job = upload(HEADER + good_rows(3))

    response = start(job, {"email": "email", "First Name": "first_name", "company": "", "Booth notes": "title"},
                     campaign=campaign.pk)  # fmt: skip

    assert response.status_code == 302
    assert response.url == detail_url(job)
    assert (job.status, job.rows_imported, job.rows_processed, job.campaign) == (ImportJob.Status.DONE, 3, 3, campaign)
    lead = Lead.objects.get(email="ann1@acme.com")
    assert (lead.first_name, lead.last_name, lead.title, lead.company) == ("Ann1", "", "Booth 1", "")
    assert lead.extra == {"company": "Acme", "last_name": "Lee"}
    assert lead.campaign == campaign
    source.refresh_from_db()
    assert source.import_mapping["Booth notes"] == "title"


def test_a_mapping_that_identifies_nobody_is_refused_on_the_preview_and_nothing_starts(upload, start):
    job = upload(HEADER + good_rows(2))

    response = start(job, {"company": "company", "Booth notes": ""})

    assert response.status_code == 400
    assert "No column is mapped to email, phone, first_name or last_name." in response.content.decode()
    assert (job.status, job.started_at) == (ImportJob.Status.PENDING, None)
    assert not Lead.objects.exists()


def test_starting_twice_sends_one_reader(upload, start, importer):
    job = upload(HEADER + good_rows(2))
    start(job)

    response = start(job, {"email": "", "First Name": "email"})  # a second click, or a stale tab

    assert response.status_code == 302
    assert (job.rows_read, job.rows_imported, job.mapping["email"]) == (2, 2, "email")
    assert Lead.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "leads.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "This is not a CSV file"),
        (b"PK\x03\x04garbage", "leads.xlsx", "not a readable .xlsx workbook"),
        (b"email,name\n", "leads.csv", "no rows below it"),
        (b"email,email\nann@acme.com,x\n", "leads.csv", "no two the same"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_and_nothing_stored(importer, source, media, data, name, reason):
    response = importer.post(
        NEW, {"file": SimpleUploadedFile(name, data), "source": "", "new_source": "Autumn fair 2026"}
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert any(reason in error for error in form.errors["file"]), form.errors
    assert reason in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not Source.objects.filter(slug="autumn-fair-2026").exists()  # the source named with it, too
    assert not any(path.is_file() for path in media.rglob("*"))


def test_a_file_over_the_size_limit_is_refused(importer, source, settings):
    settings.IMPORT_MAX_BYTES = 100

    response = importer.post(NEW, {"file": csv_file(HEADER + good_rows(5)), "source": source.pk})

    assert response.status_code == 400
    assert "The file is larger than" in response.context["form"].errors["file"][0]
    assert not ImportJob.objects.exists()


def test_a_new_source_typed_on_the_upload_form_is_created_as_a_list_import(importer, upload, source):
    response = importer.post(NEW, {"file": csv_file(HEADER + good_rows(1)), "new_source": "Spring Expo 2026"})

    assert response.status_code == 302
    created = Source.objects.get(slug="spring-expo-2026")
    assert (created.name, created.kind) == ("Spring Expo 2026", Source.Kind.LIST_IMPORT)
    assert ImportJob.objects.get().source == created


def test_the_upload_form_wants_exactly_one_source(importer, source):
    neither = importer.post(NEW, {"file": csv_file(HEADER + good_rows(1))})
    both = importer.post(NEW, {"file": csv_file(HEADER + good_rows(1)), "source": source.pk, "new_source": "X"})

    assert neither.status_code == both.status_code == 400
    assert neither.context["form"].errors["source"] == ["Choose the source of these leads."]
    assert both.context["form"].errors["new_source"] == ["Choose a source or name a new one, not both."]
    assert not ImportJob.objects.exists()


def test_an_xlsx_workbook_previews_like_a_csv(importer, source):
    book = Workbook()
    book.active.append(["E-mail", "Surname", "Employees"])
    book.active.append(["kim@globex.com", "Park", 1200])
    buffer = io.BytesIO()
    book.save(buffer)

    response = importer.post(NEW, {"file": SimpleUploadedFile("list.xlsx", buffer.getvalue()), "source": source.pk})
    preview = importer.get(response.url)

    assert [field.value() for field in preview.context["form"].columns()] == ["email", "last_name", "employees"]
    assert [[cell.value for cell in row.cells] for row in preview.context["rows"]] == [
        ["kim@globex.com", "Park", "1200"]
    ]


def test_the_progress_partial_shows_the_counts_and_polls_only_until_done(importer, upload, start):
    job = upload(HEADER + good_rows(4) + "too,few\n")
    progress_url = reverse("leads:import_progress", args=[job.pk])
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.READING, started_at=job.created_at, rows_read=2, rows_imported=2
    )

    running = importer.get(progress_url).content.decode()

    assert 'hx-trigger="every 1s"' in running
    assert f'hx-get="{progress_url}"' in running
    assert re.search(r'id="count-read">2<', running)
    assert "Reading rows" in running

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.PENDING, started_at=None, rows_read=0,
                                               rows_imported=0)  # fmt: skip
    start(job)
    assert job.status == ImportJob.Status.DONE
    done = importer.get(progress_url).content.decode()

    assert "every" not in done
    assert "hx-get" not in done
    counts = dict(re.findall(r'id="count-(\w+)">([\d,]+)<', done))
    assert counts == {"done": "5", "total": "5", "read": "5", "imported": "4", "merged": "0", "rejected": "1",
                      "processed": "4"}  # fmt: skip
    assert 'value="100"' in done
    assert f"{reverse('leads:inbox')}?import_job={job.pk}" in done
    # The page after a reload shows the same finished progress.
    page = importer.get(detail_url(job)).content.decode()
    assert 'id="count-imported">4<' in page
    assert "every" not in page


def test_the_imported_leads_link_lists_just_that_imports_leads(importer, upload, start):
    job = upload(HEADER + good_rows(2))
    start(job)
    other = upload(HEADER + good_rows(1, start=5))
    start(other)

    response = importer.get(reverse("leads:inbox"), {"import_job": job.pk})

    assert {lead.email for lead in response.context["page"].leads} == {"ann0@acme.com", "ann1@acme.com"}


def test_the_error_report_lists_row_field_problem_and_neutralizes_formulas(importer, upload, start):
    rows = [
        "ann@acme.com,Ann,Lee,Acme,ok\n",  # 2
        "bob@@acme,Bob,Stone,Acme,ok\n",  # 3: bad e-mail, imported as entered
        "too,few,columns\n",  # 4: wrong column count
        'eve@acme.com,=HYPERLINK("http://evil"),Evil,Acme,x\n',  # 5: formula
        "@SUM(1+1),Dan,Doe,Acme,x\n",  # 6: formula in the e-mail column
    ]
    job = upload(HEADER + "".join(rows))
    start(job)

    response = importer.get(reverse("leads:import_errors", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-errors.csv"'
    report = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert report[0] == ["row", "field", "problem", "value", "outcome"]
    by_row = {int(line[0]): line for line in report[1:]}
    assert sorted(by_row) == [3, 4, 5, 6]
    assert by_row[3][1] == "email"
    assert by_row[3][2].startswith("Not a valid e-mail address")
    assert by_row[3][2].endswith("(kept as entered)")
    assert by_row[3][3:] == ["bob@@acme", "imported, value kept as entered"]
    assert by_row[4][1] == ""
    assert by_row[4][2].startswith("The row has 3 columns")
    assert by_row[4][4] == "rejected"
    assert by_row[5][1] == "first_name"
    assert "spreadsheet formula" in by_row[5][2]
    assert by_row[5][3] == '\'=HYPERLINK("http://evil")'
    assert by_row[6][3] == "'@SUM(1+1)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in report for cell in line)


def test_the_imports_list_shows_the_teams_started_imports_and_my_own_uploads(importer, upload, start, lf_admin):
    mine = upload(HEADER + good_rows(2), name="mine.csv")
    start(mine)
    waiting = upload(HEADER + good_rows(1), name="waiting.csv")
    theirs_waiting = ImportJob.objects.create(
        source=mine.source, file=mine.file.name, file_name="theirs-waiting.csv", headers=[], created_by=lf_admin
    )

    response = importer.get(reverse("leads:imports"))

    shown = [job for job, _ in response.context["jobs"]]
    assert shown == [waiting, mine]
    assert theirs_waiting not in shown
    html = response.content.decode()
    assert "Not started" in html
    assert "Done" in html


def test_an_upload_never_started_can_be_discarded(importer, upload, media, django_capture_on_commit_callbacks):
    job = upload(HEADER + good_rows(1))
    path = media / job.file.name
    assert path.is_file()

    with django_capture_on_commit_callbacks(execute=True):
        response = importer.post(reverse("leads:import_discard", args=[job.pk]))

    assert response.status_code == 302
    assert response.url == reverse("leads:imports")
    assert not ImportJob.objects.exists()
    assert not path.exists()


def test_a_started_import_cannot_be_discarded(importer, upload, start):
    job = upload(HEADER + good_rows(1))
    start(job)

    response = importer.post(reverse("leads:import_discard", args=[job.pk]))

    assert response.status_code == 302
    assert ImportJob.objects.filter(pk=job.pk).exists()


def import_urls(job: ImportJob) -> list[str]:
    return [
        reverse("leads:imports"),
        NEW,
        detail_url(job),
        reverse("leads:import_progress", args=[job.pk]),
        reverse("leads:import_errors", args=[job.pk]),
    ]


def test_a_rep_without_the_import_permission_gets_403(client, rep, source):
    job = ImportJob.objects.create(source=source, file="imports/x.csv", file_name="x.csv", headers=["email"])
    client.force_login(rep)

    for url in import_urls(job):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("leads:import_discard", args=[job.pk])).status_code == 403
    assert client.post(detail_url(job), {"column_0": "email"}).status_code == 403
    assert ImportJob.objects.get(pk=job.pk).started_at is None
    assert 'href="/imports/"' not in client.get(reverse("routing:queue")).content.decode()


def test_anonymous_visitors_go_to_the_login_page(client, source):
    job = ImportJob.objects.create(source=source, file="imports/x.csv", file_name="x.csv", headers=["email"])

    for url in import_urls(job):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url


def test_marketers_find_the_import_pages_in_the_navigation(importer):
    html = importer.get(reverse("leads:imports")).content.decode()

    assert re.search(r'<a href="/imports/" aria-current="page">Import</a>', html)


def test_import_pages_have_no_inline_scripts(importer, upload, start):
    job = upload(HEADER + good_rows(1) + "x,y\n")
    pages = [importer.get(reverse("leads:imports")), importer.get(NEW), importer.get(detail_url(job))]
    start(job)
    pages += [importer.get(detail_url(job)), importer.get(reverse("leads:import_progress", args=[job.pk]))]

    for response in pages:
        html = response.content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert not re.search(r"\son\w+=", html)
        assert " style=" not in html


def test_an_import_whose_file_could_not_be_read_says_why_and_does_not_poll(importer, source):
    job = ImportJob.objects.create(
        source=source,
        file="imports/gone.csv",
        file_name="gone.csv",
        headers=["email"],
        status=ImportJob.Status.FAILED,
        error="The file is empty.",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        rows_total=3,
    )

    html = importer.get(detail_url(job)).content.decode()

    assert "The file could not be read: The file is empty." in html
    assert "Could not be read" in html
    assert "hx-trigger" not in html
