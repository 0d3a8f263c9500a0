"""The busiest API lists cost the same number of queries whatever their page size (issue #8, Scale).

Each test counts the queries of a small page, then asks for a page several times bigger (with every row
carrying the relations the serializer reads: source, campaign, owner, source records, a decider) and
allows no more queries than the small one took.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dedupe.models import DuplicateCandidate
from leads.models import SourceRecord, Stage
from tests.factories import CampaignFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


def queries_of(client, url: str, *, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"] if isinstance(body, dict) else body) == rows
    return len(queries)


def lead_with_everything(**kwargs):
    lead = LeadFactory(campaign=CampaignFactory(), **kwargs)
    SourceRecord.objects.create(lead=lead, source=SourceFactory(), external_id=f"x-{lead.pk}")
    return lead


def test_lead_list_api_queries_do_not_grow_with_page_size(client_as, marketer, rep, django_assert_max_num_queries):
    for _ in range(12):
        lead_with_everything(owner=rep)
    client = client_as(marketer)
    few = queries_of(client, "/api/leads/?page_size=2", rows=2)

    with django_assert_max_num_queries(few):
        queries_of(client, "/api/leads/?page_size=12", rows=12)


def test_lead_list_api_queries_for_a_rep_do_not_grow_with_page_size(client_as, rep, django_assert_max_num_queries):
    for _ in range(10):
        lead_with_everything(owner=rep, stage=Stage.SAL)
    client = client_as(rep)
    few = queries_of(client, "/api/leads/?page_size=2", rows=2)

    with django_assert_max_num_queries(few):
        queries_of(client, "/api/leads/?page_size=10", rows=10)


def test_queue_api_queries_do_not_grow_with_the_queue(client_as, rep, django_assert_max_num_queries):
    client = client_as(rep)
    lead_with_everything(owner=rep, stage=Stage.MQL, sla_due_at=timezone.now())
    few = queries_of(client, "/api/queue/?limit=500", rows=1)
    for _ in range(11):
        lead_with_everything(owner=rep, stage=Stage.SAL, sla_due_at=timezone.now())

    with django_assert_max_num_queries(few):
        queries_of(client, "/api/queue/?limit=500", rows=12)


def test_review_queue_api_queries_do_not_grow_with_page_size(
    client_as, marketer, lf_admin, django_assert_max_num_queries
):
    for _ in range(10):
        DuplicateCandidate.objects.create(
            lead_a=lead_with_everything(),
            lead_b=lead_with_everything(),
            score=0.8,
            reasons=["same company"],
            decided_by=lf_admin,
        )
    client = client_as(marketer)
    few = queries_of(client, "/api/duplicates/?status=open&page_size=2", rows=2)

    with django_assert_max_num_queries(few):
        queries_of(client, "/api/duplicates/?status=open&page_size=10", rows=10)


def test_review_queue_keeps_the_visibility_rule_for_a_rep(rep, other_rep):
    """The joined visibility conditions (``lead_visible_q``) keep the rule of ``lead_list_visible``: a rep's
    own leads and the claimable MQLs, nobody else's."""
    from dedupe.selectors import candidate_list_for_review

    mine, claimable = LeadFactory(owner=rep), LeadFactory(stage=Stage.MQL, owner=None)
    theirs = LeadFactory(owner=other_rep)

    def pair(one, two) -> DuplicateCandidate:  # the lower id comes first (a constraint)
        first, second = sorted([one, two], key=lambda lead: lead.pk)
        return DuplicateCandidate.objects.create(lead_a=first, lead_b=second, score=0.9, reasons=[])

    shown = pair(mine, claimable)
    pair(mine, theirs)
    pair(theirs, claimable)

    assert list(candidate_list_for_review(user=rep)) == [shown]
