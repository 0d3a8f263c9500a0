"""Beat sends the SLA sweep to a real worker, which reassigns a lapsed lead and records the breach.

Needs real processes: the truth here is the wiring (the beat schedule names the task, the worker
runs it against PostgreSQL with its own clock); the rules themselves are tested at known times in
``test_sla.py``.
"""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from leads.models import Lead, Stage
from routing.models import Notification, SlaBreach
from routing.services import leads_route_batch
from tests.factories import (
    LeadDefinitionFactory,
    LeadFactory,
    RepFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)
from tests.worker import celery_worker_running, new_queue, purge_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_beat_runs_the_sla_sweep_and_a_lapsed_lead_goes_to_another_rep():
    LeadDefinitionFactory()
    manager = UserFactory(username="mia", roles=["sales"])
    territory = TerritoryFactory(name="DACH", slug="dach", countries=["DE"], manager=manager)
    rick = RepFactory(user__username="rick")
    TerritoryMembershipFactory(territory=territory, rep=rick)
    lead = LeadFactory(stage=Stage.MQL, pipeline_state=Lead.PipelineState.SCORED, country="DE", score=90)
    leads_route_batch(lead_ids=[lead.pk])
    sara = RepFactory(user__username="sara")
    TerritoryMembershipFactory(territory=territory, rep=sara)
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=timezone.now() - datetime.timedelta(minutes=1))

    queue = new_queue()
    try:
        with celery_worker_running(queue=queue, beat=True, env={"SLA_SWEEP_SECONDS": "1"}) as worker:
            deadline = time.monotonic() + 60
            while not SlaBreach.objects.exists():
                assert time.monotonic() < deadline, worker.log()
                time.sleep(0.2)
            log = worker.log()
    finally:
        purge_queue(queue)

    assert "routing.tasks.sla_sweep_task" in log
    lead.refresh_from_db()
    breach = SlaBreach.objects.get()
    assert (breach.rep, breach.action, breach.reassigned_to) == (rick, "reassigned", sara)
    assert lead.owner == sara.user
    assert lead.sla_due_at > timezone.now()
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"rick", "sara", "mia"}
