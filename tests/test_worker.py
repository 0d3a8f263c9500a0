"""The wiring from settings to broker to a separate worker process to the database is real."""

import time

import pytest

from leads.models import Lead
from scoring.tasks import lead_score_task
from tests.factories import ActivityFactory, LeadDefinitionFactory, LeadFactory

pytestmark = pytest.mark.worker


def test_task_sent_through_redis_runs_in_a_worker_process(celery_worker):
    LeadDefinitionFactory()
    lead = LeadFactory(seniority=Lead.Seniority.VP, industry="software", employees=500, country="US")
    ActivityFactory(lead=lead, kind="pricing_visit")

    lead_score_task.delay(lead.pk)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lead.refresh_from_db()
        if lead.scored_at is not None:
            break
        time.sleep(0.2)
    assert lead.scored_at is not None, celery_worker.log()
    # VP (+20), software (+15), 500 employees (+15), US (+10), pricing visit just now (+20)
    assert lead.score == 80
    assert "Task scoring.tasks.lead_score_task" in celery_worker.log()
