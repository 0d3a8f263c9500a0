"""``manage.py dedupe_all``: matching re-run over the stored leads, in chunks, once per pair, safe to run twice."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dedupe.models import DedupeChunk, DedupeJob, DuplicateCandidate, Merge
from dedupe.rematch import dedupe_chunk_run, dedupe_job_start, dedupe_jobs_redrive_stale
from dedupe.services import match_keys_replace, pair_dismiss
from leads.models import Lead
from tests.factories import LeadDefinitionFactory, LeadFactory

# Committed for real, as from a shell: the job's chunks go to the (eager) workers when it commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def command():
    def run(*args: str) -> str:
        out = StringIO()
        call_command("dedupe_all", *args, stdout=out, stderr=StringIO())
        return out.getvalue()

    return run


def _stored(**fields) -> Lead:
    lead = LeadFactory(**fields)
    match_keys_replace(leads=[lead])
    return lead


@pytest.fixture
def people():
    """Leads stored without matching (e.g. before the thresholds were lowered): two of one person,
    a near pair for review, a pair someone dismissed, and a stranger."""
    LeadDefinitionFactory()
    past = timezone.now() - datetime.timedelta(days=10)
    rob = _stored(first_name="Robert", last_name="Smith", email="rob@acme.com", company="Acme")
    bob = _stored(first_name="Bob", last_name="Smith", email="rob@acme.com", company="Acme Inc", phone="+14155550101")
    # Two mailboxes at one company, one name: one person or two? A person decides.
    ann = _stored(
        first_name="Ann", last_name="Lee", email="ann.lee@globex.com", company="Globex", company_domain="globex.com"
    )
    anna = _stored(
        first_name="Anne", last_name="Lee", email="alee@globex.com", company="Globex", company_domain="globex.com"
    )
    kim = _stored(first_name="Kim", last_name="Park", email="kim@initech.com", company="Initech")
    kim2 = _stored(first_name="Kim", last_name="Park", email="kim@initech.com", company="Initech")
    pair_dismiss(lead_a=kim, lead_b=kim2, actor=None)
    stranger = _stored(first_name="Zoe", last_name="Quinn", email="zoe@umbrella.com", company="Umbrella")
    Lead.objects.filter(pk=rob.pk).update(created_at=past)
    return {"rob": rob, "bob": bob, "ann": ann, "anna": anna, "kim": kim, "kim2": kim2, "stranger": stranger}


def test_dedupe_all_merges_queues_and_never_proposes_a_dismissed_pair(people, command):
    out = command("--chunk-size", "2")

    job = DedupeJob.objects.get()
    assert job.status == DedupeJob.Status.DONE
    assert (job.leads_total, job.leads_done, job.merged) == (7, 7, 1)
    assert len(job.plan) == 4
    assert job.chunks.count() == 4
    assert f"Dedupe job {job.pk} done: 7/7 leads, 1 merged, {job.queued} pairs queued" in out
    rob, bob = (Lead.objects.get(pk=people[name].pk) for name in ("rob", "bob"))
    assert bob.merged_into_id == rob.pk  # the newer into the older
    assert rob.phone == "+14155550101"
    assert Merge.objects.get().automatic
    # The dismissed pair stays dismissed and unmerged.
    assert Lead.objects.get(pk=people["kim2"].pk).status == Lead.Status.ACTIVE
    assert DuplicateCandidate.objects.get(lead_a=people["kim"]).status == DuplicateCandidate.Status.DISMISSED
    # The two Ann Lees: queued once, as one ordered pair.
    open_pairs = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN)
    assert [(p.lead_a_id, p.lead_b_id) for p in open_pairs] == [(people["ann"].pk, people["anna"].pk)]
    assert job.queued == 1


def test_dedupe_all_twice_changes_nothing_the_second_time(people, command):
    command()
    merges, pairs = Merge.objects.count(), DuplicateCandidate.objects.count()
    out = command()
    second = DedupeJob.objects.first()
    assert (second.leads_total, second.merged, second.queued) == (6, 0, 0)
    assert (Merge.objects.count(), DuplicateCandidate.objects.count()) == (merges, pairs)
    assert "0 merged, 0 pairs queued" in out


def test_a_chunk_counts_once_and_a_lost_chunk_is_sent_again(people):
    job, started = dedupe_job_start(chunk_size=3)
    assert started
    job.refresh_from_db()
    assert job.status == DedupeJob.Status.DONE  # eager: every chunk ran at commit
    number, first, last, planned = job.plan[0]
    assert dedupe_chunk_run(job_id=job.pk, number=number, first_id=first, last_id=last, planned=planned) == 0
    job.refresh_from_db()
    assert job.leads_done == job.leads_total == 7

    # A job whose chunk was lost with a killed worker: the sweep sends that chunk again.
    lost = DedupeJob.objects.create(leads_total=7, leads_done=3, plan=job.plan, status=DedupeJob.Status.RUNNING)
    DedupeChunk.objects.create(job=lost, number=0, leads=3)
    DedupeJob.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    assert dedupe_jobs_redrive_stale() == len(job.plan) - 1
    lost.refresh_from_db()
    assert lost.status == DedupeJob.Status.DONE
    assert lost.chunks.count() == len(job.plan)


def test_a_second_start_while_one_runs_follows_it(people):
    running = DedupeJob.objects.create(leads_total=7, status=DedupeJob.Status.RUNNING, plan=[])
    job, started = dedupe_job_start()
    assert (job, started) == (running, False)


def test_bad_chunk_size_is_refused():
    with pytest.raises(CommandError, match="--chunk-size must be at least 1"):
        call_command("dedupe_all", "--chunk-size", "0", stdout=StringIO())


def test_review_page_shows_the_job_progress(client, marketer, people, command):
    command()
    client.force_login(marketer)
    html = client.get("/duplicates/").content.decode()
    assert 'id="dedupe-job"' in html
    assert 'data-state="done"' in html
    assert '<span id="job-merged">1</span> merged automatically' in html
