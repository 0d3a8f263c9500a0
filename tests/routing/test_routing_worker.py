"""Four worker processes routing 2,000 MQLs at once never push a rep past capacity nor give a lead twice.

Needs real processes: the truth here is PostgreSQL's row locks between separate transactions
(each batch locks its leads, then the reps it considers, in id order, and counts their load
under the lock). Every batch is sent twice, so the same leads are also routed concurrently.
"""

from __future__ import annotations

import time

import pytest
from django.db.models import Count

from leads.models import Lead, Source, Stage
from routing.models import Assignment, OverflowEntry, Rep
from routing.tasks import leads_route_batch_task
from tests.factories import TerritoryFactory, TerritoryMembershipFactory, UserFactory
from tests.worker import celery_worker_running, new_queue, purge_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEADS = 2000
REPS = 10
CAPACITY = 100
BATCH = 50


def test_concurrent_workers_never_overfill_a_rep_nor_assign_a_lead_twice(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    territory = TerritoryFactory(name="DACH", slug="dach", countries=["DE"])
    reps = []
    for n in range(REPS):
        user = UserFactory(username=f"rep{n}", roles=["sales"])
        rep = Rep.objects.create(user=user, max_open_leads=CAPACITY, max_new_per_day=100_000)
        TerritoryMembershipFactory(territory=territory, rep=rep, weight=1 + n % 3)
        reps.append(rep)
    source = Source.objects.create(name="Web", slug="web")
    leads = Lead.objects.bulk_create(
        Lead(source=source, country="DE", stage=Stage.MQL, score=60 + n % 40, email=f"p{n}@x{n}.example")
        for n in range(LEADS)
    )
    ids = [lead.pk for lead in leads]
    batches = [ids[start : start + BATCH] for start in range(0, LEADS, BATCH)]
    queue = new_queue()
    try:
        with celery_worker_running(queue=queue, concurrency=4) as worker:
            sent = batches + batches[::-1]
            for batch in sent:
                leads_route_batch_task.delay(batch)
            deadline = time.monotonic() + 180
            while worker.log().count("succeeded in") < len(sent):
                assert time.monotonic() < deadline, worker.log()
                time.sleep(0.2)
            log = worker.log()
    finally:
        purge_queue(queue)

    assert " raised " not in log, log
    assert "Retry in" not in log, log
    open_counts = dict(Lead.objects.filter(owner__isnull=False).values_list("owner").annotate(n=Count("*")))
    assert max(open_counts.values()) <= CAPACITY
    assert sum(open_counts.values()) == REPS * CAPACITY
    with_rep = Assignment.objects.filter(rep__isnull=False)
    assert not with_rep.values("lead").annotate(n=Count("*")).filter(n__gt=1).exists()
    assert with_rep.count() == REPS * CAPACITY
    # Every lead is either someone's or waiting in overflow, never both, never neither.
    assert OverflowEntry.objects.count() == LEADS - REPS * CAPACITY
    assert not OverflowEntry.objects.filter(lead__owner__isnull=False).exists()
    assert Assignment.objects.count() == LEADS  # one row per lead: the second run of each batch added nothing
    assert all(Lead.objects.filter(owner=rep.user).count() == CAPACITY for rep in reps)
    assert "Task routing.tasks.leads_route_batch_task" in log
