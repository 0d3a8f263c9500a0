"""Normalization under any input (hypothesis): it never crashes, and normalizing twice changes nothing."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from leads.normalize import (
    clean_company,
    clean_name,
    normalize_country,
    normalize_email,
    normalize_lead,
    normalize_phone,
    parse_employees,
    squash,
)

FIELDS = ["first_name", "last_name", "name", "email", "phone", "company", "website", "title", "industry",
          "employees", "street", "city", "state", "postal_code", "country"]  # fmt: skip

#: Any text, with a bias towards what forms really send: spaces, case, @, +, digits, accents.
text = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=" \t\n.+-@()'/,ABCDEFabcdefÉéßüØ0123456789", max_size=60),
    st.sampled_from(["", " ", "US", "usa", "Deutschland", "+1 415 555 0123", "ann@ACME.com", "1,200", "51-200"]),
)
raw_lead = st.dictionaries(st.sampled_from(FIELDS), st.one_of(text, st.none(), st.integers(-10, 10**7)))


@given(raw_lead)
@example({"first_name": "a" * 149 + " b"})  # cut to the column just before a space
@example({"last_name": "a" * 150 + " B"})  # all lower-case in the part that is kept
@example({"name": "X a"})  # each part of a full name cleaned on its own
@example({"company": "ACME " * 50})
@example({"postal_code": "0" * 19 + "ß"})  # two letters once upper-cased: cut again
@example({"city": "a" * 99 + "ß"})
@settings(max_examples=300, deadline=None)
def test_normalizing_a_lead_never_crashes_and_twice_is_once(raw):
    once = normalize_lead(raw)

    twice = normalize_lead(once.values)

    assert twice.values == once.values
    assert set(twice.problems) <= set(once.problems)


@given(text)
@example("0\r<")  # the bracket taken off, the space before it was left (found by hypothesis)
@example("mailto: <mailto:a@b.com> ")
@settings(max_examples=300, deadline=None)
def test_each_field_normalizer_is_idempotent(value):
    for clean in (squash, clean_name, clean_company):
        assert clean(clean(value)) == clean(value)
    email, _ = normalize_email(value)
    assert normalize_email(email)[0] == email
    for country in ("", "US", "DE"):
        phone, _ = normalize_phone(value, country)
        assert normalize_phone(phone, country)[0] == phone
    code, problem = normalize_country(value)
    if problem is None:
        assert normalize_country(code) == (code, None)
    employees, _ = parse_employees(value)
    if employees is not None:
        assert parse_employees(employees) == (employees, None)


#: Addresses near the edges of what the validator accepts: plain ones, long parts, dots, odd characters.
address = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.one_of(
        st.text(alphabet="abcXYZ019._%+-!#'~ \"é", min_size=0, max_size=70),
        st.sampled_from(["a" * 64, "a" * 65, ".a", "a.", "a..b", "-a", "a+news", "ann.lee"]),
    ),
    st.one_of(
        st.sampled_from(["acme.com", "gmail.com", "localhost", "a..com", "-a.com", "a-.com", "com", "123.45",
                         "a.invalid", "b.local", "xn--nxasmq6b.com", "exämple.de", "a_b.com",
                         ("a" * 63 + ".") * 3 + "com"]),
        st.text(alphabet="abc019.-_é", max_size=30),
    ),
)  # fmt: skip


@given(address)
@settings(max_examples=500, deadline=None)
def test_the_quick_email_check_agrees_with_the_validator(value):
    from email_validator import EmailNotValidError, validate_email

    cleaned, problem = normalize_email(value)

    try:
        validate_email(cleaned, check_deliverability=False, allow_smtputf8=True)
        valid = True
    except EmailNotValidError:
        valid = False
    assert (problem is None) == (valid or cleaned == "")
