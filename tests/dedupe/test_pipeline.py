"""Duplicates found by the pipeline: web-to-lead one by one, and list imports in bulk."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dedupe.models import DuplicateCandidate, MatchKey, Merge
from leads.imports import import_job_create
from leads.intake import submission_receive
from leads.models import Activity, ImportJob, Lead, SourceRecord, Submission
from tests.factories import AccountFactory, ContactFactory, LeadDefinitionFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db

HEADER = "external_id,first_name,last_name,email,phone,company,street,city,postal_code,country\n"


@pytest.fixture
def source():
    LeadDefinitionFactory()
    return SourceFactory(slug="web")


@pytest.fixture
def receive(django_capture_on_commit_callbacks, source):
    def call(**payload):
        with django_capture_on_commit_callbacks(execute=True):
            return submission_receive(source=source, payload=payload).submission

    return call


@pytest.fixture
def imported(django_capture_on_commit_callbacks, source):
    def call(text: str, name: str = "list.csv") -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = import_job_create(source=source, upload=SimpleUploadedFile(name, (HEADER + text).encode()))
        job.refresh_from_db()
        return job

    return call


def test_a_second_form_fill_by_the_same_person_merges_into_the_first_lead(receive):
    first = receive(first_name="Robert", last_name="Smith", email="robert.smith@acme.com", company="Acme")
    second = receive(
        first_name="Bob", last_name="Smith", email="Robert.Smith+webinar@acme.com", phone="+1 415 555 0101"
    )
    survivor, merged = Lead.objects.get(pk=first.lead_id), Lead.objects.get(pk=second.lead_id)
    assert merged.status == Lead.Status.MERGED
    assert merged.merged_into == survivor
    assert merged.pipeline_state == Lead.PipelineState.ROUTED
    assert survivor.phone == "+14155550101"  # the most recent non-empty value
    assert set(Submission.objects.filter(lead=survivor).values_list("pk", flat=True)) == {first.pk, second.pk}
    merge = Merge.objects.get(survivor=survivor, merged=merged)
    assert merge.automatic
    assert merge.score >= 0.92
    assert merge.field_sources["phone"] == merged.pk


def test_a_badge_scan_without_email_or_phone_matches_on_name_and_address(receive):
    first = receive(first_name="Katherine", last_name="O'Brien", email="kobrien@initech.com", company="Initech LLC",
                    street="12 Harbour Road", city="Dublin", postal_code="D02 X285")  # fmt: skip
    scan = receive(first_name="Kate", last_name="OBrien", company="INITECH", street="12 Harbour Rd",
                   city="Dublin", postal_code="d02x285")  # fmt: skip
    assert Lead.objects.get(pk=scan.lead_id).merged_into_id == first.lead_id


def test_a_possible_duplicate_goes_to_the_review_queue_and_stays_a_lead(receive):
    first = receive(first_name="Robert", last_name="Smith", company="Acme", postal_code="94107")
    second = receive(first_name="Robert", last_name="Smith", company="Globex", postal_code="94107")
    assert Lead.objects.get(pk=second.lead_id).status == Lead.Status.ACTIVE
    pair = DuplicateCandidate.objects.get()
    assert {pair.lead_a_id, pair.lead_b_id} == {first.lead_id, second.lead_id}
    assert pair.status == DuplicateCandidate.Status.OPEN
    assert 0.75 <= pair.score < 0.92
    assert pair.reasons


def test_different_people_make_different_leads(receive):
    receive(first_name="Robert", last_name="Smith", email="robert.smith@acme.com", company="Acme")
    receive(first_name="Jane", last_name="Smith", email="jane.smith@acme.com", company="Acme")
    assert Lead.objects.filter(status=Lead.Status.ACTIVE).count() == 2
    assert not DuplicateCandidate.objects.exists()


def test_merging_into_a_reps_lead_notifies_them_and_keeps_it_theirs(receive, rep):
    owned = LeadFactory(first_name="Ann", last_name="Lee", email="ann@acme.com", owner=rep, stage="sal")
    MatchKey.objects.bulk_create([MatchKey(lead=owned, kind="email", value="ann@acme.com")])
    again = receive(first_name="Ann", last_name="Lee", email="ann@acme.com")
    owned.refresh_from_db()
    assert Lead.objects.get(pk=again.lead_id).merged_into == owned
    assert owned.owner == rep
    assert owned.stage == "sal"
    notice = Activity.objects.get(lead=owned, kind=Activity.Kind.SYSTEM)
    assert notice.subject.startswith("Merged with Ann Lee")
    assert notice.meta["notify"] == rep.pk


def test_a_lead_is_linked_to_its_account_by_domain_or_name_and_to_its_contact(receive):
    by_domain = AccountFactory(name="Umbrella", domain="umbrella.com")
    by_name = AccountFactory(name="Wayne Enterprises", domain="wayne.example")
    contact = ContactFactory(account=by_name, email="bruce@gmail.com")
    one = receive(first_name="Al", last_name="Wesker", email="al@umbrella.com")
    two = receive(first_name="Bruce", last_name="Wayne", email="bruce@gmail.com", company="Wayne Enterprises, Inc.")
    three = receive(first_name="Lucius", last_name="Fox", company="WAYNE ENTERPRISES")
    assert Lead.objects.get(pk=one.lead_id).account == by_domain
    lead = Lead.objects.get(pk=two.lead_id)
    assert (lead.account, lead.contact) == (by_name, contact)
    assert Lead.objects.get(pk=three.lead_id).account == by_name


def test_an_import_merges_rows_of_one_person_with_each_other_and_with_stored_leads(receive, imported):
    stored = receive(first_name="Dana", last_name="Scully", email="dana@fbi.gov", company="FBI")
    job = imported(
        "r1,Fox,Mulder,fox@fbi.gov,,FBI,,,,US\n"
        "r2,Foxy,Mulder,fox@fbi.gov,+1 202 555 0100,F.B.I.,,,,US\n"  # duplicate of r1 in the same file
        "r3,Dana,Scully,dana+x@fbi.gov,,FBI,,,,US\n"  # duplicate of a stored lead
        "r4,Walter,Skinner,skinner@fbi.gov,,FBI,,,,US\n"
    )
    assert (job.status, job.rows_imported, job.rows_merged) == (ImportJob.Status.DONE, 2, 2)
    mulder = Lead.objects.get(email="fox@fbi.gov", status=Lead.Status.ACTIVE)
    assert mulder.phone == "+12025550100"  # filled in from the duplicate row
    assert set(SourceRecord.objects.filter(lead=mulder).values_list("external_id", flat=True)) == {"r1", "r2"}
    assert Submission.objects.filter(lead=mulder).count() == 2
    scully = Lead.objects.get(pk=stored.lead_id)
    assert set(SourceRecord.objects.filter(lead=scully).values_list("external_id", flat=True)) == {"r3"}
    assert Lead.objects.get(status=Lead.Status.MERGED).merged_into == scully
    assert Lead.objects.filter(status=Lead.Status.ACTIVE).count() == 3


def test_importing_the_same_list_twice_adds_no_lead(imported):
    rows = "".join(f"x{n},Ann{n},Lee,ann{n}@acme.com,,Acme,,,,US\n" for n in range(5))
    imported(rows, "a.csv")
    again = imported(rows.replace("x", "y"), "b.csv")
    assert (again.rows_imported, again.rows_merged) == (0, 5)
    assert Lead.objects.filter(status=Lead.Status.ACTIVE).count() == 5


def test_matching_a_lead_costs_a_few_queries_whatever_is_stored(receive, source):
    for n in range(30):
        receive(first_name=f"Person{n}", last_name="Doe", email=f"p{n}@example.org", company="Example")
    from leads.pipeline import leads_match

    lead = Lead.objects.create(source=source, first_name="Jon", last_name="Doe", email="p3@example.org",
                               company="Example", pipeline_state=Lead.PipelineState.NORMALIZED)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        leads_match(lead_ids=[lead.pk])
    assert Lead.objects.get(pk=lead.pk).merged_into is not None
    assert len(queries) < 40
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "dedupe_matchkey"' in q["sql"]]
    assert reads
    assert all("WHERE" in sql for sql in reads)


def test_an_imported_row_of_a_stored_lead_is_inserted_merged_and_undo_brings_it_back(
    receive, imported, marketer, django_capture_on_commit_callbacks
):
    from dedupe.services import merge_undo

    stored = receive(first_name="Robert", last_name="Smith", email="robert.smith@acme.com", company="Acme").lead
    job = imported("crm-9,Bob,Smith,robert.smith@acme.com,+1 415 555 0199,Acme Inc,,,,US\n")

    assert (job.rows_imported, job.rows_merged) == (0, 1)
    row = Lead.objects.get(import_job=job)
    assert row.status == Lead.Status.MERGED
    assert row.merged_into_id == stored.pk
    survivor = Lead.objects.get(pk=stored.pk)
    assert survivor.phone == "+14155550199"
    assert list(SourceRecord.objects.filter(lead=survivor).values_list("external_id", flat=True)) == ["crm-9"]
    merge = Merge.objects.get(merged=row)
    assert merge.field_sources["phone"] == row.pk
    assert merge.moved["source_record"]
    assert merge.moved["submission"]
    assert merge.snapshot["merged"]["status"] == Lead.Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        merge_undo(merge=merge, actor=marketer)
    row.refresh_from_db()
    survivor.refresh_from_db()
    assert row.status == Lead.Status.ACTIVE
    assert row.merged_into_id is None
    assert survivor.phone == ""
    assert list(SourceRecord.objects.filter(lead=row).values_list("external_id", flat=True)) == ["crm-9"]
    assert Submission.objects.filter(lead=row, import_job=job).exists()
    assert row.pipeline_state == Lead.PipelineState.ROUTED  # undo sent it down the pipeline it had skipped
    assert row.phone == "+14155550199"


@pytest.fixture
def meanwhile(monkeypatch):
    """Run ``change`` in the middle of storing an import chunk: after its rows were matched against the
    stored leads (read, not locked), before the merges into them are written, as another worker would."""
    import leads.imports

    def install(change):
        process = leads.imports.leads_process_unsaved

        def process_then_change(*args, **kwargs):
            result = process(*args, **kwargs)
            change()
            return result

        monkeypatch.setattr(leads.imports, "leads_process_unsaved", process_then_change)

    return install


def test_a_stored_lead_changed_while_a_chunk_merges_into_it_is_merged_as_it_is_now(
    receive, imported, marketer, meanwhile, django_capture_on_commit_callbacks
):
    from dedupe.services import merge_undo

    stored = receive(first_name="Robert", last_name="Smith", email="robert.smith@acme.com", company="Acme").lead
    meanwhile(lambda: Lead.objects.filter(pk=stored.pk).update(title="CEO", phone="+14155550100"))
    job = imported("crm-9,Bob,Smith,robert.smith@acme.com,+1 415 555 0199,Acme Inc,,,,US\n")

    row = Lead.objects.get(import_job=job)
    assert row.merged_into_id == stored.pk
    merge = Merge.objects.get(merged=row)
    # The merge was worked out from the survivor as it was when locked, not as first read.
    assert merge.snapshot["survivor"]["phone"] == "+14155550100"
    assert Lead.objects.get(pk=stored.pk).phone == "+14155550199"
    with django_capture_on_commit_callbacks(execute=True):
        merge_undo(merge=merge, actor=marketer)
    survivor = Lead.objects.get(pk=stored.pk)
    assert (survivor.title, survivor.phone) == ("CEO", "+14155550100")


def test_a_stored_lead_merged_away_while_a_chunk_merges_into_it_passes_the_row_on(
    receive, imported, marketer, meanwhile
):
    from dedupe.services import lead_merge

    older = receive(first_name="Jane", last_name="Doe", email="jane@globex.com", company="Globex").lead
    stored = receive(first_name="Robert", last_name="Smith", email="robert.smith@acme.com", company="Acme").lead
    meanwhile(lambda: lead_merge(survivor=Lead.objects.get(pk=older.pk), merged=Lead.objects.get(pk=stored.pk),
                                 actor=marketer))  # fmt: skip
    job = imported("crm-9,Bob,Smith,robert.smith@acme.com,+1 415 555 0199,Acme Inc,,,,US\n")

    row = Lead.objects.get(import_job=job)
    assert row.status == Lead.Status.MERGED
    assert row.merged_into_id == older.pk
    assert Merge.objects.get(merged=row).survivor_id == older.pk
    assert Lead.objects.get(pk=older.pk).phone == "+14155550199"
    assert list(SourceRecord.objects.filter(lead_id=older.pk).values_list("external_id", flat=True)) == ["crm-9"]
    assert (job.rows_imported, job.rows_merged) == (0, 1)
