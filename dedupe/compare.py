"""Field-by-field comparison of two person records: pure functions over plain values, no ORM.

Each field that both records have adds evidence for or against their being one person (a
weight, in log-odds); a field either record lacks adds nothing either way. The weights add up
to a probability (logistic), returned with the reasons in words. Names are compared with
nicknames (Bob = Robert), initials and swapped first/last names in mind; companies without
legal form and punctuation; strings with Jaro-Winkler and token ratios from ``jellyfish`` and
``rapidfuzz`` rather than anything hand-made.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jellyfish
from nicknames import NickNamer
from rapidfuzz import fuzz

from dedupe.keys import company_key, domain_key, email_key, fold, phone_key, postal_key

#: Log-odds before any evidence: two records that share a blocking key are usually not one person.
PRIOR = -3.0
_NICKNAMES = NickNamer()
_DIGITS = re.compile(r"\D")


@dataclass(slots=True)
class Match:
    """How likely two records are one person (0..1), and why."""

    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Evidence:
    total: float = PRIOR
    reasons: list[str] = field(default_factory=list)

    def add(self, weight: float, reason: str) -> None:
        self.total += weight
        self.reasons.append(f"{reason} ({weight:+.1f})")


def _text(fields: Mapping[str, Any], name: str) -> str:
    return fold(str(fields.get(name) or ""))


@functools.lru_cache(maxsize=65536)
def _name_forms(name: str) -> frozenset[str]:
    """A first name and the names it may stand for: ``bob`` -> {bob, robert, bobby, ...}."""
    if not name:
        return frozenset()
    forms = {name}
    forms |= _NICKNAMES.canonicals_of(name)
    forms |= _NICKNAMES.nicknames_of(name)
    return frozenset(forms)


def first_name_similarity(a: str, b: str) -> tuple[float, str]:
    """(weight, reason) for two first names, folded: exact, nickname, initial, close spelling or different."""
    if a == b:
        return 3.0, "same first name"
    if b in _name_forms(a) or a in _name_forms(b) or (_name_forms(a) & _name_forms(b) - {a, b}):
        return 2.5, f"first names {a.title()} and {b.title()} are one name (nickname)"
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return 1.0, "first name matches an initial"
    similarity = jellyfish.jaro_winkler_similarity(a, b)
    if similarity >= 0.9:
        return 2.0, f"first names nearly alike ({similarity:.2f})"
    if similarity >= 0.8:
        return 0.0, f"first names somewhat alike ({similarity:.2f})"
    return -3.0, "different first names"


def last_name_similarity(a: str, b: str) -> tuple[float, str]:
    if a == b:
        return 4.0, "same last name"
    similarity = jellyfish.jaro_winkler_similarity(a, b)
    if similarity >= 0.92 or (min(len(a), len(b)) > 5 and fuzz.ratio(a, b) >= 85):
        return 3.0, f"last names nearly alike ({similarity:.2f})"
    if similarity >= 0.85:
        return 0.5, f"last names somewhat alike ({similarity:.2f})"
    return -5.0, "different last names"


def _names(a: Mapping[str, Any], b: Mapping[str, Any], evidence: _Evidence) -> None:
    first_a, last_a, first_b, last_b = (
        _text(a, "first_name"),
        _text(a, "last_name"),
        _text(b, "first_name"),
        _text(b, "last_name"),
    )
    straight: list[tuple[float, str]] = []
    if first_a and first_b:
        straight.append(first_name_similarity(first_a, first_b))
    if last_a and last_b:
        straight.append(last_name_similarity(last_a, last_b))
    best = straight
    if first_a and last_a and first_b and last_b:
        # Judge each crossed pair as a first name and as a last name, both ways round, and keep the
        # better: otherwise compare(a, b) and compare(b, a) could disagree (tests/dedupe/test_compare_properties.py).
        crossed = (
            [first_name_similarity(first_a, last_b), last_name_similarity(last_a, first_b)],
            [last_name_similarity(first_a, last_b), first_name_similarity(last_a, first_b)],
        )
        swapped = max(crossed, key=lambda pairs: sum(w for w, _ in pairs))
        if sum(w for w, _ in swapped) > sum(w for w, _ in straight):
            best = [(w, f"{r}, first and last name swapped") for w, r in swapped]
    for weight, reason in best:
        evidence.add(weight, reason)


def _emails(a: Mapping[str, Any], b: Mapping[str, Any], evidence: _Evidence) -> None:
    email_a, email_b = email_key(str(a.get("email") or "")), email_key(str(b.get("email") or ""))
    if not email_a or not email_b:
        return
    if email_a == email_b:
        evidence.add(8.0, "same e-mail address")
        return
    local_a, _, domain_a = email_a.partition("@")
    local_b, _, domain_b = email_b.partition("@")
    # A typo, not another mailbox: nearly the same letters and the same digits (ann1@ and ann10@ are two people).
    if (
        domain_a == domain_b
        and fuzz.ratio(local_a, local_b) >= 90
        and _DIGITS.sub("", local_a) == _DIGITS.sub("", local_b)
    ):
        evidence.add(4.0, "e-mail addresses one typo apart")
    elif domain_a == domain_b and domain_key(domain_a):
        evidence.add(-5.0, "different mailboxes at one company")
    else:
        evidence.add(-1.0, "different e-mail addresses")


def _phones(a: Mapping[str, Any], b: Mapping[str, Any], evidence: _Evidence) -> None:
    phone_a, phone_b = phone_key(str(a.get("phone") or "")), phone_key(str(b.get("phone") or ""))
    if phone_a and phone_b:
        if phone_a == phone_b:
            evidence.add(5.0, "same phone number")
        else:
            evidence.add(-2.0, "different phone numbers")


def _companies(a: Mapping[str, Any], b: Mapping[str, Any], evidence: _Evidence) -> None:
    company_a, company_b = company_key(str(a.get("company") or "")), company_key(str(b.get("company") or ""))
    domain_a = domain_key(str(a.get("company_domain") or ""))
    domain_b = domain_key(str(b.get("company_domain") or ""))
    same_domain = bool(domain_a) and domain_a == domain_b
    if domain_a and domain_b:
        evidence.add(1.5, "same company domain") if same_domain else evidence.add(-1.5, "different company domains")
    if company_a and company_b:
        if company_a == company_b:
            evidence.add(2.0, "same company")
        elif fuzz.token_set_ratio(fold(str(a.get("company"))), fold(str(b.get("company")))) >= 90 or (
            fuzz.ratio(company_a, company_b) >= 85
        ):
            evidence.add(1.5, "company names nearly alike")
        elif not same_domain:
            evidence.add(-4.0, "different companies")


def _address(a: Mapping[str, Any], b: Mapping[str, Any], evidence: _Evidence) -> None:
    postal_a, postal_b = postal_key(str(a.get("postal_code") or "")), postal_key(str(b.get("postal_code") or ""))
    if postal_a and postal_b:
        evidence.add(2.0, "same postal code") if postal_a == postal_b else evidence.add(-2.0, "different postal codes")
    street_a, street_b = _text(a, "street"), _text(b, "street")
    if street_a and street_b:
        ratio = fuzz.token_sort_ratio(street_a, street_b)
        if ratio >= 90:
            evidence.add(2.0, "same street address")
        elif ratio < 70:
            evidence.add(-1.5, "different street addresses")
    city_a, city_b = _text(a, "city"), _text(b, "city")
    if city_a and city_b:
        if jellyfish.jaro_winkler_similarity(city_a, city_b) >= 0.9:
            evidence.add(0.5, "same city")
        else:
            evidence.add(-1.5, "different cities")
    country_a, country_b = _text(a, "country"), _text(b, "country")
    if country_a and country_b and country_a != country_b:
        evidence.add(-2.0, "different countries")


def compare(a: Mapping[str, Any], b: Mapping[str, Any]) -> Match:
    """How likely the records ``a`` and ``b`` (dicts of lead fields) are one person."""
    evidence = _Evidence()
    _emails(a, b, evidence)
    _phones(a, b, evidence)
    _names(a, b, evidence)
    _companies(a, b, evidence)
    _address(a, b, evidence)
    total = max(min(evidence.total, 30.0), -30.0)
    return Match(score=round(1.0 / (1.0 + math.exp(-total)), 4), reasons=evidence.reasons)
