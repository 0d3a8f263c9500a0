"""Search on PostgreSQL has trigram indexes under it (migration leads/0008), and the planner can use them."""

import pytest
from django.db import connection
from django.http import QueryDict

from leads.filters import LeadFilter
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_searched_fields_have_trigram_indexes_on_their_upper_case():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads_lead'")
        indexes = dict(cursor.fetchall())

    for field in ("first_name", "last_name", "company", "email"):
        definition = indexes[f"lead_{field}_trgm_idx"]
        assert "USING gin" in definition
        assert f"upper(({field})::text) gin_trgm_ops" in definition


def test_a_search_can_be_answered_from_the_trigram_indexes():
    LeadFactory(first_name="Ottoline", last_name="Quist", company="Zebra Works")
    search = LeadFilter(QueryDict("q=ottol"), queryset=Lead.objects.all()).qs
    with connection.cursor() as cursor:
        # A tiny table: turn off the whole-table and ordered scans to see what the bitmap scan may use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = search.order_by().explain()

    assert "lead_first_name_trgm_idx" in plan
    assert [lead.first_name for lead in search] == ["Ottoline"]


def test_searched_expressions_keep_a_fine_histogram_for_the_planner():
    names = [f"lead_{field}_trgm_idx" for field in ("first_name", "last_name", "company", "email")]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attstattarget FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.relname = ANY(%s)",
            [names],
        )
        targets = dict(cursor.fetchall())

    # A common term's share of the rows is counted in 500 entries, not 100 (leads/0013).
    assert targets == dict.fromkeys(names, 500)


def test_identifying_fields_have_one_index_each_for_equality_and_prefix():
    LeadFactory(email="ottoline@zebra.example", company_domain="zebra.example")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'leads_lead'")
        definitions = [row[0] for row in cursor.fetchall()]
        cursor.execute("SET LOCAL enable_seqscan = off")
        equal = Lead.objects.filter(email="ottoline@zebra.example").order_by().explain()
        prefix = Lead.objects.filter(company_domain__startswith="zebra").order_by().explain()

    for field in ("email", "phone", "company_domain", "country"):
        btrees = [d for d in definitions if "USING btree" in d and (f"({field} " in d or f"({field})" in d)]
        assert len(btrees) == 1, btrees
    assert "lead_email_idx" in equal
    assert "lead_company_domain_idx" in prefix
    assert list(Lead.objects.filter(email="ottoline@zebra.example").values_list("company_domain", flat=True)) == [
        "zebra.example"
    ]
