"""Two workers importing the same people at the same moment make one lead per person.

Needs real processes: the truth is in PostgreSQL's locks between two worker processes, each
storing its own file's chunk in its own transaction.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from leads.imports import import_job_create
from leads.models import ImportJob, Lead
from tests.factories import LeadDefinitionFactory, SourceFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FIRST = ["Anna", "Boris", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas"]
LAST = ["Novak", "Ortega", "Petrov", "Quinn", "Rossi", "Sato", "Tanaka", "Ueda", "Varga", "Weber"]


def rows(numbers, tag):
    return "external_id,first_name,last_name,email,company,country\n" + "".join(
        f"{tag}{n},{FIRST[n % 10]},{LAST[n // 10 % 10]}{n // 100},{FIRST[n % 10].lower()}.{n}@corp{n % 7}.com,"
        f"Corp {n % 7},US\n"
        for n in numbers
    )


def test_two_workers_importing_overlapping_lists_make_one_lead_per_person(celery_worker):
    LeadDefinitionFactory()
    one, two = SourceFactory(slug="expo-a"), SourceFactory(slug="expo-b")
    job_a = import_job_create(source=one, upload=SimpleUploadedFile("a.csv", rows(range(300), "a").encode()))
    job_b = import_job_create(source=two, upload=SimpleUploadedFile("b.csv", rows(range(100, 400), "b").encode()))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        jobs = list(ImportJob.objects.filter(pk__in=[job_a.pk, job_b.pk]))
        if all(job.is_finished for job in jobs):
            break
        time.sleep(0.2)
    assert all(job.status == ImportJob.Status.DONE for job in jobs), celery_worker.log()
    active = Lead.objects.filter(status=Lead.Status.ACTIVE)
    assert active.count() == 400
    assert not active.values("email").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert sum(job.rows_merged for job in jobs) == 200
    assert Lead.objects.filter(status=Lead.Status.MERGED).count() + 400 == Lead.objects.count()
