"""``dedupe_all`` through a real Celery worker (two processes): chunks matched in parallel take turns on
the people they share, so every person ends as one lead, and a second run finds nothing new.

A real worker because the truth depends on separate processes and transactions: chunks of one job
committing in parallel, the advisory key locks between them, and the retry of a chunk whose
survivor another process merged meanwhile."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F

from dedupe.models import DedupeChunk, DedupeJob, Merge
from dedupe.services import match_keys_replace
from leads.models import Lead, Source
from tests.factories import LeadDefinitionFactory
from tests.worker import celery_worker_running, new_queue, purge_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PEOPLE = 150
FIRST = ["Robert", "Bob", "William", "Bill", "Elizabeth", "Liz", "Katherine", "Kate", "James", "Jim"]


def test_dedupe_all_through_a_real_worker_leaves_one_lead_per_person():
    LeadDefinitionFactory()
    source = Source.objects.create(name="Old list", slug="old-list")
    # Each person stored one to three times without matching (say, before the thresholds were lowered):
    # copies share the e-mail, nickname and case vary; the copies are spread over the id range.
    leads = []
    for copy in range(3):
        for n in range(PEOPLE):
            if copy and n % 3 < copy:
                continue
            first = FIRST[(n % 5) * 2 + (copy % 2)]
            leads.append(
                Lead(
                    source=source,
                    first_name=first if copy != 2 else first.upper(),
                    last_name=f"Person{n}",
                    email=f"person{n}@firm{n % 40}.example",
                    company=f"Firm {n % 40}",
                    company_domain=f"firm{n % 40}.example",
                    pipeline_state=Lead.PipelineState.ROUTED,
                )
            )
    leads = Lead.objects.bulk_create(leads)
    match_keys_replace(leads=leads)
    total = len(leads)
    queue = new_queue()
    try:
        with celery_worker_running(queue=queue) as worker:
            out = StringIO()
            call_command(
                "dedupe_all", "--wait", "--chunk-size", "40", "--timeout", "120", stdout=out, stderr=StringIO()
            )
            again = StringIO()
            call_command("dedupe_all", "--wait", "--timeout", "120", stdout=again, stderr=StringIO())
            time.sleep(0.5)
            log = worker.log()
    finally:
        purge_queue(queue)

    first, second = DedupeJob.objects.order_by("pk")
    assert first.status == DedupeJob.Status.DONE, first.error
    assert (first.leads_total, first.leads_done) == (total, total)
    assert DedupeChunk.objects.filter(job=first).count() == len(first.plan) == -(-total // 40)
    assert "Task dedupe.tasks.dedupe_chunk_task" in log
    active = Lead.objects.filter(status=Lead.Status.ACTIVE)
    assert active.count() == PEOPLE
    assert sorted(active.values_list("last_name", flat=True)) == sorted(f"Person{n}" for n in range(PEOPLE))
    assert first.merged == Merge.objects.count() == total - PEOPLE
    # The oldest copy of each person survived.
    assert not Lead.objects.filter(status=Lead.Status.MERGED, merged_into__gt=F("pk")).exists()
    assert f"{first.merged} merged" in out.getvalue()
    assert second.status == DedupeJob.Status.DONE
    assert (second.leads_total, second.merged, second.queued) == (PEOPLE, 0, 0)
    assert "0 merged, 0 pairs queued" in again.getvalue()
