"""What the lead search (``?q=``, inbox and ``GET /api/leads/``) finds: the whole term in the company or the
e-mail, at the start of the e-mail domain, any of its first three words in a first or last name; an e-mail
prefix when it holds "@"."""

import pytest
from django.http import QueryDict

from leads.filters import LeadFilter
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def found(term: str) -> set[int]:
    return set(LeadFilter(QueryDict(f"q={term}"), queryset=Lead.objects.all()).qs.values_list("pk", flat=True))


@pytest.fixture
def ada() -> Lead:
    return LeadFactory(first_name="Ada", last_name="Lovelace", email="ada.king@engines.example",
                       company="Analytical Engines Ltd", company_domain="engines.example")  # fmt: skip


@pytest.fixture
def grace() -> Lead:
    return LeadFactory(first_name="Grace", last_name="Hopper", email="grace@navy.example",
                       company="US Navy", company_domain="navy.example")  # fmt: skip


def test_first_or_last_name_any_case(ada, grace):
    assert found("ada") == {ada.pk}
    assert found("LOVEL") == {ada.pk}
    assert found("hOpPeR") == {grace.pk}


def test_each_of_the_first_three_words_matches_a_name(ada, grace):
    assert found("Grace Lovelace") == {ada.pk, grace.pk}
    assert found("nobody nothing hopper") == {grace.pk}
    assert found("a b c Hopper") == {ada.pk, grace.pk}  # "a" is in Ada and Grace; a fourth word is not looked for


def test_whole_term_in_the_company(ada, grace):
    assert found("analytical engines") == {ada.pk}
    assert found("NAVY") == {grace.pk}
    assert found("Engines Navy") == set()  # the company is matched by the whole term, not by its words


def test_e_mail_anywhere_or_by_prefix_and_the_domain_by_its_start(ada, grace):
    assert found("king@") == set()  # with "@" the term is an e-mail prefix
    assert found("ada.king@eng") == {ada.pk}
    assert found("KING") == {ada.pk}  # without "@", anywhere in the e-mail
    assert found("navy.exa") == {grace.pk}


def test_like_wildcards_in_the_term_are_plain_characters(ada, grace):
    odd = LeadFactory(first_name="Per%cent", last_name="Under_score", company="Wild Cards")

    assert found("%") == found("r%c") == found("r_s") == found("zebra r_s") == {odd.pk}
    # As wildcards, "d%a" would find Ada and "a_e" Grace and Lovelace ("ace").
    assert found("d%a") == found("a_e") == found("a_e a_e") == set()


def test_no_match_and_blank_terms(ada, grace):
    assert found("zebra") == set()
    assert found("zebra quagga okapi") == set()
    assert found("   ") == {ada.pk, grace.pk}
