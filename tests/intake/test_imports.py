"""List imports through the service and the management command: good rows in, each bad row reported."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from leads.imports import (
    ImportFileError,
    ImportJobStartedError,
    import_chunk_store,
    import_job_create,
    import_job_preview,
    import_job_read,
    import_job_start,
    import_job_upload,
    import_jobs_redrive_stale,
    mapping_suggest,
)
from leads.intake import leads_redrive_stale
from leads.models import ImportJob, ImportRowError, Lead, Source, SourceRecord, Stage, Submission
from tests.factories import CampaignFactory, LeadDefinitionFactory, SourceFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,first_name,last_name,email,phone,company,website,title,industry,employees,country\n"
GOOD = "ext-{n},Ann{n},Lee,ann{n}@acme.com,415 555 01{n:02d},ACME INC,acme.com,VP Marketing,software,500,US\n"


def upload(data: str | bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data.encode() if isinstance(data, str) else data)


def good_rows(numbers) -> str:
    return "".join(GOOD.format(n=n) for n in numbers)


@pytest.fixture
def source():
    LeadDefinitionFactory()
    return SourceFactory(slug="tradeshow")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run what it queued on commit (the reader, then the pipeline), as a real commit would."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def test_a_clean_file_imports_every_row_through_the_pipeline(source, run):
    campaign = CampaignFactory(slug="spring-expo")
    job = run(import_job_create, source=source, upload=upload(HEADER + good_rows(range(5))), campaign=campaign)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_total, job.rows_read, job.rows_imported, job.rows_rejected, job.rows_processed) == (5, 5, 5, 0, 5)
    lead = Lead.objects.get(import_job=job, email="ann3@acme.com")
    assert (lead.first_name, lead.company, lead.phone, lead.seniority) == ("Ann3", "Acme Inc", "+14155550103", "vp")
    assert lead.campaign == campaign
    assert lead.pipeline_state == Lead.PipelineState.ROUTED
    assert lead.score > 0
    assert lead.definition is not None
    assert SourceRecord.objects.get(lead=lead).external_id == "ext-3"
    assert Submission.objects.get(lead=lead).payload["email"] == "ann3@acme.com"


def test_malformed_rows_are_reported_by_row_and_field_and_the_good_rows_imported(source, run):
    rows = [
        GOOD.format(n=1),  # row 2
        "ext-2,Bob,Stone,bob@@acme,415 555 0102,Acme,,CTO,software,200,US\n",  # 3: bad e-mail, kept and flagged
        "ext-3,Too,Few,columns\n",  # 4: wrong column count
        "ext-4,=cmd|' /C calc'!A0,Evil,evil@acme.com,,Acme,,,,,US\n",  # 5: formula
        "ext-5," + "x" * 10_000 + ",Long,long@acme.com,,Acme,,,,,US\n",  # 6: 10,000 characters
        ",,,,,,,,,,\n",  # 7: empty: skipped
        "ext-7,,,,,Acme,,,,,US\n",  # 8: nothing identifies the person
        GOOD.format(n=8),  # 9
    ]
    data = (HEADER + "".join(rows)).encode()
    data += "ext-9,José,Bad,jose@acme.com,,Acme,,,,,ES\n".encode("latin-1")  # 10: not UTF-8
    data += GOOD.format(n=10).encode()  # 11
    job = run(import_job_create, source=source, upload=upload(data))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_read, job.rows_imported, job.rows_rejected) == (9, 4, 5)
    assert set(Lead.objects.filter(import_job=job).values_list("email", flat=True)) == {
        "ann1@acme.com", "bob@@acme", "ann8@acme.com", "ann10@acme.com"
    }  # fmt: skip
    report = {(e.row_number, e.field, e.rejected): e.problem for e in ImportRowError.objects.filter(job=job)}
    assert report[(3, "email", False)].startswith("Not a valid e-mail address")
    assert "5 columns; the header has 11" in report[(4, "", True)] or "4 columns" in report[(4, "", True)]
    assert "spreadsheet formula" in report[(5, "first_name", True)]
    assert report[(6, "first_name", True)] == "10000 characters long; at most 150 fit"
    assert "nothing identifies the person" in report[(8, "", True)]
    assert "bad encoding" in report[(10, "", True)]
    flagged = Lead.objects.get(email="bob@@acme")
    assert flagged.invalid_fields["email"]["value"] == "bob@@acme"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "leads.csv", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "leads.csv", "not a CSV file"),
        (b"PK\x03\x04garbage", "leads.xlsx", "not a readable .xlsx workbook"),
        (b"notes,comments\nhello,world\n", "leads.csv", "No column is mapped to email"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_and_nothing_stored(source, data, name, message):
    with pytest.raises(ImportFileError, match=message):
        import_job_create(source=source, upload=upload(data, name))
    assert not ImportJob.objects.exists()
    assert not Lead.objects.exists()


def test_xlsx_workbooks_import_like_csv(source, run):
    book = Workbook()
    sheet = book.active
    sheet.append(["Email", "First Name", "Surname", "Company", "Employees"])
    sheet.append(["kim@globex.com", "kim", "PARK", "Globex", 1200])
    sheet.append([None, None, None, None, None])
    sheet.append(["lee@globex.com", "Lee", "Min", "Globex", 80])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(import_job_create, source=source, upload=upload(buffer.getvalue(), "list.xlsx"))
    job.refresh_from_db()
    assert job.rows_imported == 2
    kim = Lead.objects.get(email="kim@globex.com")
    assert (kim.first_name, kim.last_name, kim.employees) == ("Kim", "Park", 1200)


def test_headers_map_themselves_and_the_mapping_is_remembered_per_source(source, run):
    assert mapping_suggest(["E-mail", "First Name", "Zip", "Favourite colour"]) == {
        "E-mail": "email", "First Name": "first_name", "Zip": "postal_code", "Favourite colour": ""
    }  # fmt: skip
    run(
        import_job_create,
        source=source,
        upload=upload("Work mail,Who\nann@acme.com,Ann\n"),
        mapping={"Work mail": "email", "Who": "first_name"},
    )
    source.refresh_from_db()
    assert source.import_mapping == {"Work mail": "email", "Who": "first_name"}
    assert mapping_suggest(["Work mail", "Who"], source.import_mapping) == {"Work mail": "email", "Who": "first_name"}


def test_unmapped_columns_are_kept_as_extra_fields(source, run):
    run(import_job_create, source=source, upload=upload("email,Booth notes\nann@acme.com,Wants a demo\n"))
    assert Lead.objects.get(email="ann@acme.com").extra == {"Booth notes": "Wants a demo"}


def test_a_repeated_source_record_id_joins_its_lead_instead_of_making_another(source, run):
    first = run(import_job_create, source=source, upload=upload(HEADER + good_rows([1, 2])))
    again = run(import_job_create, source=source, upload=upload(HEADER + good_rows([2, 3, 3])))
    again.refresh_from_db()
    assert (again.rows_imported, again.rows_merged, again.status) == (1, 2, ImportJob.Status.DONE)
    assert Lead.objects.filter(source=source).count() == 3
    lead2 = SourceRecord.objects.get(source=source, external_id="ext-2").lead
    assert lead2.import_job == first
    assert lead2.submissions.count() == 2


def test_reading_again_after_a_crash_stores_only_the_missing_chunks(source, run, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 10
    from leads import imports

    # The reader dies after sending two chunks (as a killed worker would); reading again sends the rest.
    real_delay = imports.import_chunk_task.delay
    sent = {"n": 0}

    def dying_delay(*args):
        sent["n"] += 1
        if sent["n"] == 3:
            raise SystemExit("worker killed")
        return real_delay(*args)

    monkeypatch.setattr(imports.import_chunk_task, "delay", dying_delay)
    with pytest.raises(SystemExit):
        run(import_job_create, source=source, upload=upload(HEADER + good_rows(range(35))))
    job = ImportJob.objects.get()
    assert (job.rows_read, job.status) == (20, ImportJob.Status.READING)

    monkeypatch.setattr(imports.import_chunk_task, "delay", real_delay)
    run(import_job_read, job=job)
    # The sweeper re-drives the leads whose pipeline was never sent when the worker died.
    settings.PIPELINE_STALE_SECONDS = 0
    assert run(leads_redrive_stale) == 20
    job.refresh_from_db()
    assert (job.rows_read, job.rows_imported, job.rows_processed, job.status) == (35, 35, 35, ImportJob.Status.DONE)
    assert Lead.objects.filter(import_job=job).count() == 35
    assert Submission.objects.filter(import_job=job).values("row_number").distinct().count() == 35


def test_a_chunk_delivered_twice_is_stored_once(source, run, settings):
    settings.IMPORT_CHUNK_ROWS = 10
    job = run(import_job_create, source=source, upload=upload(HEADER + good_rows(range(12))))
    rows = [[2, GOOD.format(n=0).rstrip("\n").split(",")]]
    assert run(import_chunk_store, job_id=job.pk, number=0, rows=rows) == 0
    job.refresh_from_db()
    assert (job.rows_read, job.rows_imported) == (12, 12)
    assert Lead.objects.filter(import_job=job).count() == 12


def test_only_a_chunks_mqls_wait_for_routing_the_other_leads_are_stored_through_the_pipeline(
    django_capture_on_commit_callbacks,
):
    rules = {
        "fit": [{"id": "vp", "label": "VP", "field": "seniority", "op": "in", "value": ["vp"], "points": 70}],
        "thresholds": {"mql": 60},
    }
    LeadDefinitionFactory(rules=rules)
    source = SourceFactory(slug="fair")
    data = "first_name,last_name,email,title\n" + "".join(
        f"Ann{n},Lee,ann{n}@globex.com,{'VP Sales' if n < 2 else 'Analyst'}\n" for n in range(5)
    )
    with django_capture_on_commit_callbacks(execute=False):  # the reader is not sent: the chunk is stored by hand
        job = import_job_create(source=source, upload=upload(data))
    rows = [[n + 2, [f"Ann{n}", "Lee", f"ann{n}@globex.com", "VP Sales" if n < 2 else "Analyst"]] for n in range(5)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert import_chunk_store(job_id=job.pk, number=0, rows=rows) == 5
    leads = {lead.email: lead for lead in Lead.objects.filter(import_job=job)}
    states = {email: (lead.stage, lead.pipeline_state) for email, lead in leads.items()}
    assert states == {
        **{f"ann{n}@globex.com": (Stage.MQL, Lead.PipelineState.SCORED) for n in range(2)},
        **{f"ann{n}@globex.com": (Stage.NEW, Lead.PipelineState.ROUTED) for n in range(2, 5)},
    }
    job.refresh_from_db()
    assert (job.rows_imported, job.rows_processed, job.status) == (5, 3, ImportJob.Status.PROCESSING)

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:  # the route step, for the two MQLs only
            callback()
    assert not Lead.objects.filter(import_job=job).exclude(pipeline_state=Lead.PipelineState.ROUTED).exists()
    job.refresh_from_db()
    assert (job.rows_processed, job.status) == (5, ImportJob.Status.DONE)


@pytest.mark.django_db(transaction=True)
def test_command_imports_a_file_reports_rejected_rows_and_creates_an_unknown_source(tmp_path, capsys):
    LeadDefinitionFactory()
    path = tmp_path / "expo.csv"
    path.write_text(HEADER + good_rows([1, 2]) + "ext-x,Too,Few\n")
    call_command("import_leads", str(path), "--source", "expo-2026", "--map", "title=title")
    out = capsys.readouterr().out
    assert "Created source 'expo-2026'" in out
    assert "3 rows read, 2 imported, 0 merged into existing leads, 1 rejected" in out
    assert "row 4 (rejected)" in out
    assert Source.objects.get(slug="expo-2026").leads.count() == 2


def test_command_fails_when_the_file_cannot_be_read(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        call_command("import_leads", str(path), "--source", "web")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_leads", str(tmp_path / "missing.csv"), "--source", "web")


def test_an_upload_waits_unread_until_started_and_the_sweeper_leaves_it_alone(source, run, settings):
    settings.PIPELINE_STALE_SECONDS = 0
    job = run(import_job_upload, source=source, upload=upload(HEADER + good_rows(range(3))))

    assert run(import_jobs_redrive_stale) == 0
    job.refresh_from_db()
    assert (job.status, job.started_at, job.rows_total, job.rows_read) == (ImportJob.Status.PENDING, None, 3, 0)
    assert job.mapping["email"] == "email"

    job = run(import_job_start, job=job, mapping=job.mapping, campaign=None)
    job.refresh_from_db()
    assert (job.status, job.rows_imported) == (ImportJob.Status.DONE, 3)
    with pytest.raises(ImportJobStartedError):
        import_job_start(job=job, mapping=job.mapping, campaign=None)


def test_a_started_import_whose_reader_was_lost_is_re_driven(source, run, settings):
    settings.PIPELINE_STALE_SECONDS = 0
    job = run(import_job_upload, source=source, upload=upload(HEADER + good_rows(range(2))))
    import_job_start(job=job, mapping=job.mapping, campaign=None)  # committed, but the reader never sent

    assert run(import_jobs_redrive_stale) == 1
    job.refresh_from_db()
    assert (job.status, job.rows_imported) == (ImportJob.Status.DONE, 2)


def test_a_column_kept_as_an_extra_field_stays_extra_even_when_named_like_a_field(source, run):
    data = "email,company,Email\nann@acme.com,Acme,other@acme.com\n"
    job = run(import_job_create, source=source, upload=upload(data), mapping={"email": "email", "company": ""})

    lead = Lead.objects.get(import_job=job)
    assert (lead.email, lead.company) == ("ann@acme.com", "")
    assert lead.extra == {"company": "Acme", "Email": "other@acme.com"}


def test_the_preview_reads_only_the_first_rows(source):
    job = import_job_upload(source=source, upload=upload(HEADER + good_rows(range(30)) + "bad,row\n"))

    preview = import_job_preview(job=job, rows=10)

    assert preview.headers == HEADER.strip().split(",")
    assert [number for number, _ in preview.rows] == list(range(2, 12))
    assert job.rows_total == 31


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_quoted_cells_read_as_a_spreadsheet_writes_them(source, run, delimiter):
    data = delimiter.join(["email", "company", "Notes"]) + "\n"
    data += delimiter.join(["ann@acme.com", '"ACME ""Rockets"", Inc"', '"two\nlines"']) + "\n"
    job = run(import_job_create, source=source, upload=upload(data))

    lead = Lead.objects.get(import_job=job)
    assert lead.company == 'ACME "Rockets", Inc'
    assert lead.extra == {"Notes": "two\nlines"}
