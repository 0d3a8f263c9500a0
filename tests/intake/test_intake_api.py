"""POST /api/intake/: stored first, answered at once, never twice, spam kept, limits enforced."""

import threading

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from rest_framework.test import APIClient

from leads.models import Lead, Source, Stage, Submission
from tests.factories import CampaignFactory, LeadDefinitionFactory, SourceFactory

pytestmark = pytest.mark.django_db

LEAD = {"first_name": "Ann", "last_name": "Lee", "email": "Ann.Lee@Acme.com", "company": "ACME INC",
        "title": "VP Marketing", "country": "us", "employees": "500", "industry": "Software"}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()


@pytest.fixture
def web_source():
    LeadDefinitionFactory()
    source = SourceFactory(slug="website")
    key = source.set_new_api_key()
    source.save()
    source.key = key
    return source


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST with a source key and run what the request queued on commit (the pipeline, eagerly)."""

    def call(data, key, fmt="json", **headers):
        client = APIClient()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/intake/", data, format=fmt, HTTP_X_SOURCE_KEY=key, **headers)

    return call


def test_a_submission_is_stored_answered_202_and_processed(web_source, post):
    CampaignFactory(source=web_source, slug="q4-webinar")  # a campaign of the source posting
    response = post({**LEAD, "campaign": "q4-webinar", "favourite_colour": "teal"}, web_source.key)
    assert response.status_code == 202, response.content
    body = response.json()
    submission = Submission.objects.get(pk=body["id"])
    assert submission.payload["email"] == "Ann.Lee@Acme.com"  # raw, as sent
    lead = Lead.objects.get(pk=body["lead"])
    assert (lead.email, lead.company, lead.country, lead.seniority) == ("ann.lee@acme.com", "Acme Inc", "US", "vp")
    assert lead.campaign.slug == "q4-webinar"
    assert lead.extra == {"favourite_colour": "teal"}
    assert lead.pipeline_state == Lead.PipelineState.ROUTED
    assert lead.source == web_source
    status = APIClient().get(f"/api/intake/{body['id']}/", HTTP_X_SOURCE_KEY=web_source.key)
    assert status.status_code == 200
    assert status.json()["pipeline_state"] == "routed"


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_no_second_lead(web_source, post):
    first = post(LEAD, web_source.key, HTTP_IDEMPOTENCY_KEY="form-123")
    again = post(LEAD, web_source.key, HTTP_IDEMPOTENCY_KEY="form-123")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["replayed"] is True
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1


def test_form_posts_are_accepted_too(web_source, post):
    response = post({"email": "kim@globex.com", "first_name": "Kim"}, web_source.key, fmt="multipart")
    assert response.status_code == 202
    assert Lead.objects.get().email == "kim@globex.com"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [({"hp": "http://spam"}, "hidden field 'hp'"), ({"_elapsed_ms": "300"}, "300 ms"),
     ({"first_name": "Visit https://cheap.example"}, "link in the first name")],
)  # fmt: skip
def test_bot_submissions_are_stored_as_spam_and_screened_as_junk(web_source, post, extra, reason):
    response = post({**LEAD, **extra}, web_source.key)
    assert response.status_code == 202
    assert response.json()["spam"] is True
    lead = Lead.objects.get()
    assert lead.stage == Stage.JUNK
    assert reason in lead.junk_reason


def test_a_submission_without_anything_identifying_is_refused_naming_the_field(web_source, post):
    response = post({"company": "Acme"}, web_source.key)
    assert response.status_code == 400
    assert "email" in response.json()
    assert not Submission.objects.exists()


def test_a_missing_or_wrong_key_is_refused(web_source):
    assert APIClient().post("/api/intake/", LEAD, format="json").status_code in (401, 403)
    wrong = APIClient().post("/api/intake/", LEAD, format="json", HTTP_X_SOURCE_KEY="lf_nope")
    assert wrong.status_code == 401
    inactive = SourceFactory(slug="old", is_active=False)
    old_key = inactive.set_new_api_key()
    inactive.save()
    assert APIClient().post("/api/intake/", LEAD, format="json", HTTP_X_SOURCE_KEY=old_key).status_code == 401


def test_each_source_has_its_own_rate_limit(web_source, post):
    Source.objects.filter(pk=web_source.pk).update(rate_limit_per_minute=2)
    other = SourceFactory(slug="partner")
    other_key = other.set_new_api_key()
    other.save()
    assert [post(LEAD, web_source.key).status_code for _ in range(3)] == [202, 202, 429]
    limited = post(LEAD, web_source.key)
    assert int(limited["Retry-After"]) > 0
    assert post(LEAD, other_key).status_code == 202


def test_a_source_reads_only_its_own_submissions(web_source, post):
    body = post(LEAD, web_source.key).json()
    other = SourceFactory(slug="partner")
    key = other.set_new_api_key()
    other.save()
    assert APIClient().get(f"/api/intake/{body['id']}/", HTTP_X_SOURCE_KEY=key).status_code == 404


def test_a_database_that_cannot_store_answers_503_with_retry_after(web_source, monkeypatch):
    def refuse(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("leads.api.intake.submission_receive", refuse)
    response = APIClient().post("/api/intake/", LEAD, format="json", HTTP_X_SOURCE_KEY=web_source.key)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_make_one_lead(web_source):
    """Two requests with the same key at the same moment, on real PostgreSQL connections."""
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def send():
        barrier.wait()
        codes.append(
            APIClient()
            .post("/api/intake/", LEAD, format="json", HTTP_X_SOURCE_KEY=web_source.key, HTTP_IDEMPOTENCY_KEY="same")
            .status_code
        )
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [202] * 4
    assert Submission.objects.count() == 1
    assert Lead.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_of_one_source_record_id_join_one_lead(web_source):
    """The same external_id at the same moment (a tool retrying without an Idempotency-Key)."""
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def send():
        barrier.wait()
        codes.append(
            APIClient()
            .post("/api/intake/", {**LEAD, "external_id": "crm-42"}, format="json", HTTP_X_SOURCE_KEY=web_source.key)
            .status_code
        )
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [202] * 4
    assert Lead.objects.count() == 1
    assert Submission.objects.filter(lead=Lead.objects.get()).count() == 4
