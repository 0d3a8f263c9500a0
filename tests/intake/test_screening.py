"""Screening rules under the lead definition: each junk lead says which rule fired."""

import pytest

from leads.screening import screen_lead

RULES = {
    "b2b_only": True,
    "competitor_domains": ["rivalcrm.com"],
    "excluded_industries": ["government", "education"],
    "excluded_countries": ["KP"],
    "block_students": True,
    "block_test_entries": True,
}


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"email": "bob@rivalcrm.com"}, "competitor"),
        ({"email": "bob@acme.com", "company_domain": "rivalcrm.com"}, "competitor"),
        ({"email": "x@mailinator.com"}, "disposable_email"),
        ({"email": "x@10minutemail.com"}, "disposable_email"),
        ({"email": "bob@gmail.com"}, "free_email"),
        ({"email": "ann@mit.edu"}, "student"),
        ({"email": "ann@acme.com", "seniority": "student"}, "student"),
        ({"email": "ann@city.gov", "industry": "Government administration"}, "excluded_industry"),
        ({"email": "ann@uni.org", "industry": "higher education"}, "excluded_industry"),
        ({"email": "test@acme.com"}, "test_entry"),
        ({"email": "ann@acme.com", "first_name": "asdf"}, "test_entry"),
        ({"email": "ann@acme.com", "country": "KP"}, "excluded_country"),
    ],
)
def test_each_rule_marks_junk_with_its_name(fields, rule):
    verdict = screen_lead(fields, RULES)
    assert verdict is not None
    assert verdict.rule == rule
    assert verdict.reason


def test_a_clean_business_lead_passes():
    assert (
        screen_lead({"email": "jane.doe@acme.com", "first_name": "Jane", "company": "Acme", "country": "US"}, RULES)
        is None
    )


def test_free_email_passes_when_the_definition_is_not_b2b_only():
    assert screen_lead({"email": "bob@gmail.com"}, {**RULES, "b2b_only": False}) is None


def test_spam_reason_from_intake_wins():
    assert screen_lead({"email": "jane@acme.com"}, RULES, spam_reason="hidden field was filled in").rule == "spam"


def test_numbers_repeated_in_an_address_are_not_a_test_entry():
    assert screen_lead({"email": "john1111@acme.com", "first_name": "John"}, RULES) is None
