"""Which territory a lead falls in: a pure function, so tested on unsaved territories (no database)."""

from __future__ import annotations

import pytest

from routing.matching import territory_for, territory_matches, territory_mismatch
from routing.models import Territory


def territory(name: str = "T", priority: int = 100, **criteria) -> Territory:
    return Territory(name=name, slug=name.lower(), priority=priority, **criteria)


LEAD = {"country": "US", "state": "CA", "postal_code": "94107", "industry": "Software", "employees": 250}


def test_a_territory_with_no_criteria_takes_anyone():
    assert territory_matches(territory(), {})
    assert territory_matches(territory(), LEAD)


@pytest.mark.parametrize(
    ("criteria", "matches"),
    [
        ({"countries": ["US", "CA"]}, True),
        ({"countries": ["us"]}, True),  # codes compare without case
        ({"countries": ["DE"]}, False),
        ({"regions": ["ca", "WA"]}, True),
        ({"regions": ["NY"]}, False),
        ({"postal_prefixes": ["941", "100"]}, True),
        ({"postal_prefixes": ["100"]}, False),
        ({"industries": ["software", "fintech"]}, True),
        ({"industries": ["retail"]}, False),
        ({"min_employees": 200}, True),
        ({"min_employees": 251}, False),
        ({"max_employees": 250}, True),
        ({"max_employees": 249}, False),
        ({"min_employees": 100, "max_employees": 500}, True),
        ({"countries": ["US"], "industries": ["retail"]}, False),  # every criterion must hold
        (
            {
                "countries": ["US"],
                "regions": ["CA"],
                "postal_prefixes": ["94"],
                "industries": ["software"],
                "min_employees": 1,
                "max_employees": 1000,
            },
            True,
        ),
    ],
)
def test_each_criterion(criteria, matches):
    assert territory_matches(territory(**criteria), LEAD) is matches


@pytest.mark.parametrize(
    "criteria",
    [{"countries": ["US"]}, {"regions": ["CA"]}, {"postal_prefixes": ["9"]}, {"industries": ["software"]},
     {"min_employees": 1}, {"max_employees": 1000}],
)  # fmt: skip
def test_a_lead_without_the_value_a_criterion_needs_does_not_match(criteria):
    assert not territory_matches(territory(**criteria), {"country": "", "state": "", "employees": None})


def test_postal_codes_compare_without_spaces_or_case():
    london = territory(postal_prefixes=["sw1a", "EC1"])

    assert territory_matches(london, {"postal_code": "SW1A 1AA"})
    assert territory_matches(london, {"postal_code": "ec1v 9lb"})
    assert not territory_matches(london, {"postal_code": "W1 1AA"})


def test_the_account_stands_in_for_what_the_lead_lacks():
    enterprise = territory(countries=["GB"], industries=["fintech"], min_employees=1000)
    fields = {"country": "", "industry": "", "employees": None, "account_country": "GB",
              "account_industry": "Fintech", "account_employees": 5000}  # fmt: skip

    assert territory_matches(enterprise, fields)
    assert not territory_matches(enterprise, {**fields, "country": "US"})  # the lead's own value wins


def test_the_first_matching_territory_by_priority_wins():
    catch_all = territory("Rest of world", priority=900)
    us = territory("US", priority=50, countries=["US"])
    us_west = territory("US West", priority=10, countries=["US"], regions=["CA", "WA", "OR"])
    europe = territory("Europe", priority=5, countries=["DE", "FR"])

    territories = [catch_all, us, europe, us_west]

    assert territory_for(LEAD, territories) is us_west
    assert territory_for({**LEAD, "state": "NY"}, territories) is us
    assert territory_for({"country": "JP"}, territories) is catch_all


def test_equal_priorities_go_by_name():
    beta, alpha = territory("Beta", priority=1), territory("Alpha", priority=1)

    assert territory_for(LEAD, [beta, alpha]) is alpha


def test_inactive_territories_are_skipped_and_none_may_match():
    closed = territory("Closed", priority=1, is_active=False)
    europe = territory("Europe", countries=["DE"])

    assert territory_for(LEAD, [closed, europe]) is None
    assert territory_for(LEAD, []) is None


@pytest.mark.parametrize(
    ("ranges", "postal", "matches"),
    [
        ([["94000", "94999"]], "94107", True),
        ([["94000", "94999"]], "95014", False),
        ([["10000", "14999"], ["94100", "94199"]], "94107", True),
        ([["940", "949"]], "94107", True),  # compared on the range's length
        ([["SW1", "SW9"]], "sw1a 1aa", True),
        ([["94000", "94999"]], "", False),
    ],
)
def test_postal_ranges_are_inclusive_and_compare_on_their_length(ranges, postal, matches):
    assert territory_matches(territory(postal_ranges=ranges), {**LEAD, "postal_code": postal}) is matches


def test_a_prefix_or_a_range_is_enough():
    criteria = {"postal_prefixes": ["100"], "postal_ranges": [["94000", "94999"]]}
    assert territory_matches(territory(**criteria), {"postal_code": "10001"})
    assert territory_matches(territory(**criteria), {"postal_code": "94107"})
    assert not territory_matches(territory(**criteria), {"postal_code": "60601"})


def test_named_accounts_match_by_company_domain_email_domain_or_name():
    named = territory(named_accounts=["acme.com", "Globex"])
    assert territory_matches(named, {"company_domain": "acme.com"})
    assert territory_matches(named, {"email_domain": "ACME.com"})
    assert territory_matches(named, {"company": "globex"})
    assert not territory_matches(named, {"company": "Initech", "company_domain": "initech.com"})


@pytest.mark.parametrize(
    ("criteria", "why"),
    [
        ({"countries": ["DE", "FR"]}, "country US is not DE, FR"),
        ({"regions": ["NY"]}, "region CA is not NY"),
        (
            {"postal_prefixes": ["10"], "postal_ranges": [["60000", "60999"]]},
            "postal code 94107 is not in 10*, 60000 to 60999",
        ),
        ({"industries": ["Retail"]}, "industry Software is not Retail"),
        ({"min_employees": 1000}, "company size 250 is not 1000 to any"),
        ({"named_accounts": ["acme.com"]}, "Initech is not one of its named accounts"),
    ],
)
def test_a_mismatch_says_which_criterion_failed(criteria, why):
    assert territory_mismatch(territory(**criteria), {**LEAD, "company": "Initech"}) == why
    assert territory_mismatch(territory(), LEAD) is None
