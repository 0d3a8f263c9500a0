"""The bulk writers in ``leadflow/db.py`` store exactly what Django's own ``save`` would."""

import datetime

import pytest
from django.utils import timezone

from leadflow.db import bulk_insert_rows, bulk_update_rows, instances_like
from leads.models import Lead, Submission
from tests.factories import LeadDefinitionFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db

FIELDS = ["first_name", "employees", "owner", "definition", "score_breakdown", "extra", "assigned_at", "revisit_on"]


def _values(lead: Lead) -> dict:
    attnames = [Lead._meta.get_field(name).attname for name in FIELDS]
    return {attname: getattr(lead, attname) for attname in attnames}


def test_bulk_update_writes_every_kind_of_value_back_exactly():
    leads = LeadFactory.create_batch(3)
    definition = LeadDefinitionFactory()
    at = timezone.now().replace(microsecond=123456)
    values = [
        {"first_name": "Zoë \"Q\" O'Neil\\", "employees": 0, "owner_id": None, "definition_id": definition.pk,
         "score_breakdown": {"fit": [{"points": 5, "why": "VP ✓"}], "n": None}, "extra": {},
         "assigned_at": at, "revisit_on": datetime.date(2027, 2, 28)},
        {"first_name": "", "employees": None, "owner_id": None, "definition_id": None, "score_breakdown": [],
         "extra": {"list": [1, 2.5, True]}, "assigned_at": None, "revisit_on": None},
        {"first_name": "Ann", "employees": 2_000_000_000, "owner_id": None, "definition_id": None,
         "score_breakdown": "text", "extra": {"k": "v"}, "assigned_at": at - datetime.timedelta(days=400),
         "revisit_on": None},
    ]  # fmt: skip
    for lead, new in zip(leads, values, strict=True):
        for name, value in new.items():
            setattr(lead, name, value)

    assert bulk_update_rows(leads, FIELDS) == 3

    for lead, new in zip(leads, values, strict=True):
        stored = Lead.objects.get(pk=lead.pk)
        assert _values(stored) == new


def test_bulk_insert_stores_what_save_stores():
    source = SourceFactory()
    at = timezone.now().replace(microsecond=654321)
    made = [
        Submission(source=source, payload={"email": "a@b.co", "n": 1}, meta={}, row_number=n, received_at=at)
        for n in range(3)
    ]
    saved = Submission(source=source, payload={"email": "a@b.co", "n": 1}, meta={}, row_number=0)
    saved.save()

    bulk_insert_rows(made)

    stored = Submission.objects.filter(pk__in=[s.pk for s in made]).order_by("row_number")
    assert [s.row_number for s in stored] == [0, 1, 2]
    for row in stored:
        assert (row.payload, row.meta, row.source_id, row.lead_id) == (saved.payload, {}, source.pk, None)
        assert row.received_at is not None  # auto_now_add, as save() sets it


def test_instances_like_are_independent_copies_of_their_template(django_assert_num_queries):
    source = SourceFactory()
    template = Submission(source=source, payload={"a": [1]}, row_number=7)

    first, second = instances_like(template, 2)
    first.meta["ip"] = "10.0.0.1"
    first.payload["a"].append(2)

    assert (second.meta, second.payload, template.payload) == ({}, {"a": [1]}, {"a": [1]})
    assert len({template.pk, first.pk, second.pk}) == 3  # each its own UUID
    assert first._state.adding
    assert first._state is not second._state
    with django_assert_num_queries(0):
        assert (first.source, first.row_number) == (source, 7)
    bulk_insert_rows([first, second])
    assert Submission.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_bulk_insert_takes_the_id_of_a_related_object_saved_since_and_refuses_an_unsaved_one():
    source = SourceFactory()
    lead = Lead(source=source, email="late@acme.com")
    submission = Submission(source=source, lead=lead, payload={})  # the lead has no id yet
    bulk_insert_rows([lead])

    bulk_insert_rows([submission])

    assert Submission.objects.get(pk=submission.pk).lead_id == lead.pk
    with pytest.raises(ValueError, match="unsaved related object"):
        bulk_insert_rows([Submission(source=source, lead=Lead(source=source), payload={})])
    assert bulk_insert_rows([Submission(source=source, payload={}, meta={"json": "as text"})]) is None
    assert Submission.objects.filter(meta={"json": "as text"}).count() == 1  # a JSON column goes in as its text
