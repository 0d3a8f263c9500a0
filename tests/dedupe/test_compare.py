"""Keys and comparison, pure: each kind of variation a duplicate comes with."""

import pytest

from dedupe.compare import compare
from dedupe.keys import company_key, email_key, lead_keys

AUTO, REVIEW = 0.92, 0.75
ROBERT = {
    "first_name": "Robert", "last_name": "Smith", "email": "robert.smith@acme.com", "phone": "+14155550101",
    "company": "Acme, Inc.", "company_domain": "acme.com", "street": "1 Main Street", "city": "Springfield",
    "postal_code": "94107", "country": "US",
}  # fmt: skip


def test_email_key_drops_tags_and_dots_where_the_provider_ignores_them():
    assert email_key("Bob.Smith+news@GoogleMail.com") == "bobsmith@gmail.com"
    assert email_key("bob.smith+x@acme.com") == "bob.smith@acme.com"
    assert email_key("not an address") == ""


def test_company_key_strips_legal_form_and_punctuation():
    assert company_key("ACME, Inc.") == company_key("Acme GmbH") == company_key("acme") == "acme"


def test_a_person_without_email_or_phone_still_has_name_keys():
    keys = lead_keys({"first_name": "Ann", "last_name": "Lee", "company": "Acme", "postal_code": "SW1A 1AA"})
    assert {kind for kind, _ in keys} == {"name_company", "name_postal"}


@pytest.mark.parametrize(
    ("variation", "other"),
    [
        ("nickname", {**ROBERT, "first_name": "Bob", "email": "", "phone": ""}),
        ("swapped names", {**ROBERT, "first_name": "Smith", "last_name": "Robert", "phone": ""}),
        ("typo in last name", {**ROBERT, "last_name": "Smtih", "email": ""}),
        ("email tag", {**ROBERT, "email": "robert.smith+events@acme.com", "phone": ""}),
        ("shouting and legal form", {**ROBERT, "first_name": "ROBERT", "company": "ACME INCORPORATED", "phone": ""}),
        ("accents", {**ROBERT, "last_name": "Smíth", "email": ""}),
        (
            "badge scan, no email or phone",
            {
                "first_name": "Rob",
                "last_name": "Smith",
                "company": "ACME",
                "street": "1 Main St.",
                "city": "Springfield",
                "postal_code": "94107",
            },
        ),
        ("email only", {"email": "Robert.Smith@acme.com"}),
    ],
)
def test_variations_of_one_person_score_above_auto_merge(variation, other):
    match = compare(ROBERT, other)
    assert match.score >= AUTO, (variation, match.reasons)
    assert match.reasons


@pytest.mark.parametrize(
    ("variation", "other"),
    [
        ("colleague", {**ROBERT, "first_name": "Jane", "email": "jane.smith@acme.com", "phone": "+14155550199"}),
        (
            "namesake elsewhere",
            {"first_name": "Robert", "last_name": "Smith", "company": "Globex", "postal_code": "10001"},
        ),
        ("shared inbox", {"first_name": "Maria", "last_name": "Lopez", "email": "robert.smith@acme.com"}),
    ],
)
def test_different_people_score_below_auto_merge(variation, other):
    assert compare(ROBERT, other).score < AUTO, variation


def test_missing_fields_count_neither_way():
    bare = {"first_name": "Robert", "last_name": "Smith", "company": "Acme"}
    assert compare(bare, {**bare}).score == compare(bare, {**bare, "phone": "", "postal_code": ""}).score


def test_a_namesake_at_the_same_postal_code_but_other_company_goes_to_review_not_merge():
    other = {"first_name": "Robert", "last_name": "Smith", "company": "Globex", "postal_code": "94107"}
    score = compare({k: ROBERT[k] for k in ("first_name", "last_name", "company", "postal_code")}, other).score
    assert REVIEW <= score < AUTO
