"""Normalization of raw values: clean where possible, kept as entered and flagged where not."""

import pytest

from leads.normalize import (
    classify_title,
    clean_company,
    clean_name,
    company_domain,
    normalize_country,
    normalize_email,
    normalize_lead,
    normalize_phone,
    parse_employees,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Bob.Smith@ACME.com ", "bob.smith@acme.com"), ("mailto:ann@x.io", "ann@x.io"), ("", "")],
)
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert normalize_email(raw) == (expected, None)


def test_invalid_email_is_kept_as_entered_with_the_problem():
    value, problem = normalize_email("bob@@acme")
    assert value == "bob@@acme"
    assert problem.startswith("Not a valid e-mail address")


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(415) 555-0132", "US", "+14155550132"),
        ("+44 20 7946 0958", "", "+442079460958"),
        ("030 901820", "DE", "+4930901820"),
    ],
)
def test_phone_goes_to_e164_reading_national_numbers_in_the_country(raw, country, expected):
    assert normalize_phone(raw, country) == (expected, None)


def test_unreadable_phone_is_kept_and_flagged():
    assert normalize_phone("555-0132", "") == ("555-0132", "Could not read the phone number (no country to read it in)")
    assert normalize_phone("12", "US")[1] == "Not a valid phone number"


def test_names_and_companies_lose_shouting_and_stray_whitespace():
    assert clean_name("  JOHN\t ") == "John"
    assert clean_name("o'neil-smith") == "O'Neil-Smith"
    assert clean_name("McDonald") == "McDonald"
    assert clean_company("ACME   INC") == "Acme Inc"
    assert clean_company("IBM") == "IBM"
    assert clean_company("GLOBEX GMBH") == "Globex GMBH"


def test_company_domain_comes_from_website_else_business_email():
    assert company_domain("https://www.Acme.com/about", "x@other.com") == "acme.com"
    assert company_domain("", "bob@acme.io") == "acme.io"
    assert company_domain("", "bob@gmail.com") == ""


@pytest.mark.parametrize(
    ("raw", "code"),
    [("us", "US"), ("USA", "US"), ("Germany", "DE"), ("Deutschland", "DE"), ("United Kingdom", "GB"), ("uk", "GB")],
)
def test_country_becomes_an_iso_code(raw, code):
    assert normalize_country(raw) == (code, None)


def test_unknown_country_is_flagged():
    assert normalize_country("Narnia") == ("Narnia", "Unknown country")


@pytest.mark.parametrize(
    ("title", "seniority", "function"),
    [
        ("Chief Marketing Officer", "c_level", "marketing"),
        ("VP of Sales", "vp", "sales"),
        ("Director, Finance", "director", "finance"),
        ("Senior Software Engineer", "individual", "engineering"),
        ("PhD Student", "student", ""),
        ("Wizard", "", ""),
    ],
)
def test_job_title_maps_to_seniority_and_function(title, seniority, function):
    assert classify_title(title) == (seniority, function)


@pytest.mark.parametrize(("raw", "n"), [("1,200", 1200), ("51-200", 200), ("10k", 10000), ("5000+", 5000), (42, 42)])
def test_employee_counts_are_read_from_common_spellings(raw, n):
    assert parse_employees(raw) == (n, None)


def test_normalize_lead_keeps_invalid_values_and_lists_each_problem():
    result = normalize_lead(
        {"email": "bad@", "phone": "123", "country": "Narnia", "employees": "lots", "name": "ann lee"}
    )
    assert result.values["email"] == "bad@"
    assert result.values["phone"] == "123"
    assert result.values["country"] == ""
    assert result.values["first_name"] == "Ann"
    assert result.values["last_name"] == "Lee"
    assert set(result.problems) == {"email", "phone", "country", "employees"}
    assert result.problems["country"] == {"value": "Narnia", "problem": "Unknown country"}


def test_normalization_is_idempotent():
    raw = {"first_name": " JOHN ", "email": " J@ACME.COM", "phone": "415 555 0132", "country": "usa",
           "company": "ACME INC", "title": "VP Sales", "website": "www.acme.com", "employees": "1,200"}  # fmt: skip
    once = normalize_lead(raw).values
    twice = normalize_lead(once).values
    assert twice == once
