"""Screening: which leads are junk under the lead definition. Pure functions, no ORM.

The rules live in the definition's ``rules["screening"]``::

    {"b2b_only": true, "competitor_domains": ["rival.com"], "excluded_industries": ["government"],
     "excluded_countries": [], "block_students": true, "block_test_entries": true,
     "block_disposable": true}

``screen_lead`` returns the first rule that fires, so a junk lead always says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS

from leads.normalize import FREE_EMAIL_DOMAINS, email_domain

_TEST_WORDS = frozenset(
    "test testing tester asdf asdfgh qwerty foo xxx aaa dummy fake none null n/a sample jkl hjkl".split()
)
_TEST_DOMAINS = frozenset(
    "example.com example.org example.net test.com testing.com asdf.com fake.com none.com noemail.com".split()
)
_MASH = re.compile(r"^(asdf|qwer|zxcv|hjkl|sdfg|dfgh|fghj|jkl;)|([a-z])\2{3,}", re.I)
_STUDENT_DOMAIN = re.compile(r"(\.edu|\.ac\.[a-z]{2}|\.edu\.[a-z]{2})$")

EXCLUDED_SEGMENT_WORDS = {
    "government": ("government", "public sector", "municipal", "federal", "ministry"),
    "education": ("education", "school", "university", "college", "academic"),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: str
    reason: str


def _is_test_word(value: str) -> bool:
    value = value.strip().lower()
    return bool(value) and (value in _TEST_WORDS or bool(_MASH.search(value)))


def screen_lead(fields: Mapping[str, Any], rules: Mapping[str, Any], *, spam_reason: str = "") -> Verdict | None:
    """The first screening rule ``fields`` break, or ``None`` for a clean lead."""
    if spam_reason:
        return Verdict("spam", f"Spam: {spam_reason}")
    email = str(fields.get("email") or "")
    domain = email_domain(email)
    company_domain = str(fields.get("company_domain") or "")
    if rules.get("block_test_entries", True):
        local = email.partition("@")[0]
        if (
            domain in _TEST_DOMAINS
            or _is_test_word(local)
            or _is_test_word(str(fields.get("first_name") or ""))
            or _is_test_word(str(fields.get("last_name") or ""))
            or _is_test_word(str(fields.get("company") or ""))
        ):
            return Verdict("test_entry", "Test entry")
    competitors = {d.lower() for d in rules.get("competitor_domains", ())}
    if competitors and (domain in competitors or company_domain in competitors):
        return Verdict("competitor", f"Competitor domain ({domain if domain in competitors else company_domain})")
    if rules.get("block_disposable", True) and domain in DISPOSABLE_DOMAINS:
        return Verdict("disposable_email", f"Disposable e-mail ({domain})")
    if rules.get("b2b_only") and domain in FREE_EMAIL_DOMAINS:
        return Verdict("free_email", f"Free e-mail address ({domain}), B2B only")
    if rules.get("block_students", True) and (
        fields.get("seniority") == "student" or (domain and _STUDENT_DOMAIN.search(domain))
    ):
        return Verdict("student", "Student")
    industry = str(fields.get("industry") or "").lower()
    for segment in rules.get("excluded_industries", ()):
        words = EXCLUDED_SEGMENT_WORDS.get(segment.lower(), (segment.lower(),))
        if industry and any(word in industry for word in words):
            return Verdict("excluded_industry", f"Excluded segment: {segment}")
    excluded_countries = {c.upper() for c in rules.get("excluded_countries", ())}
    if fields.get("country") and str(fields["country"]).upper() in excluded_countries:
        return Verdict("excluded_country", f"Excluded country: {fields['country']}")
    return None
