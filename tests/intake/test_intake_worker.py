"""Web-to-lead submissions processed by a real worker: a burst is drained in batches, none is left behind.

Needs real processes: the web side and the worker only share Redis (broker and cache)."""

import re
import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leads.models import Lead, Submission
from tests.factories import LeadDefinitionFactory, SourceFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REDIS_CACHE = "redis://127.0.0.1:6379/12"


def test_a_burst_of_submissions_is_drained_in_batches_through_a_real_worker(settings, celery_worker_factory):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE}}
    cache.clear()
    LeadDefinitionFactory()
    source = SourceFactory(slug="web")
    key = source.set_new_api_key()
    source.save()
    with celery_worker_factory(env={"CACHE_URL": REDIS_CACHE}) as worker:
        client = APIClient()
        for n in range(40):
            body = {"email": f"ann{n}@acme{n}.com", "first_name": "Ann", "company": "Acme", "country": "US"}
            assert client.post("/api/intake/", body, format="json", HTTP_X_SOURCE_KEY=key).status_code == 202
        deadline = time.monotonic() + 60
        while Lead.objects.exclude(pipeline_state=Lead.PipelineState.ROUTED).exists():
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.2)
        log = worker.log()
    assert Lead.objects.count() == Submission.objects.count() == 40
    drains = len(re.findall(r"pipeline_drain_task\[[0-9a-f-]+\] received", log))
    assert 1 <= drains < 40, f"{drains} drains for 40 submissions"
