"""Dedupe keys and comparison under any input (hypothesis): no crash, keys stable, compare symmetric."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.compare import compare
from dedupe.keys import VALUE_MAX, lead_keys

FIELDS = ["first_name", "last_name", "email", "phone", "company", "company_domain", "postal_code", "city",
          "street", "country"]  # fmt: skip
text = st.text(max_size=60) | st.sampled_from(
    ["", "Ann", "ann", "Anne", "Müller", "Mueller", "ann.lee+x@gmail.com", "annlee@gmail.com", "+14155550123",
     "ACME, Inc.", "Acme", "acme.com", "10115", "US"]
)  # fmt: skip
person = st.dictionaries(st.sampled_from(FIELDS), text | st.none())


@given(person)
@settings(max_examples=300, deadline=None)
def test_blocking_keys_never_crash_are_bounded_and_stable(fields):
    keys = lead_keys(fields)

    assert keys == lead_keys(dict(fields))
    assert all(kind and value and len(value) <= VALUE_MAX for kind, value in keys)


@given(person, person)
@settings(max_examples=300, deadline=None)
def test_comparing_two_records_never_crashes_and_is_symmetric(a, b):
    forward, backward = compare(a, b), compare(b, a)

    assert 0.0 <= forward.score <= 1.0
    assert forward.score == backward.score


@given(person)
@settings(max_examples=100, deadline=None)
def test_a_record_is_at_least_as_like_itself_as_anything_else(a):
    assert compare(a, a).score >= compare(a, {}).score
