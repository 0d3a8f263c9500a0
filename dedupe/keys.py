"""Blocking keys: pure functions from a person's plain field values to the short strings under
which a possible duplicate is looked up (``dedupe.models.MatchKey``, indexed on kind and value).

Two records that are the same person share at least one key unless nearly everything about them
differs, and a key is shared by few records that are not: so finding candidates costs a few
indexed look-ups, never a scan. Nicknames, typos and swapped names are the comparison's job
(``dedupe.compare``); keys only have to bring the pair together, so the name keys use the sound
of *each* name (first or last) with something that places the person: a postal code, a company
or a company domain.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import jellyfish
from cleanco import basename

from leads.normalize import DOTLESS_PROVIDERS, FREE_EMAIL_DOMAINS

#: The kinds of key, as stored in ``MatchKey.kind``.
EMAIL, PHONE, NAME_POSTAL, NAME_COMPANY, NAME_DOMAIN = "email", "phone", "name_postal", "name_company", "name_domain"
KINDS = (EMAIL, PHONE, NAME_POSTAL, NAME_COMPANY, NAME_DOMAIN)
#: The fields keys and comparison read.
FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "company_domain", "street", "city", "postal_code",
    "country",
)  # fmt: skip
_ALIAS_PROVIDERS = {"googlemail.com": "gmail.com"}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_ALPHA = re.compile(r"[^a-z]+")
VALUE_MAX = 200


def fold(text: str) -> str:
    """Lower-case ASCII without accents: ``"Müller"`` -> ``"muller"``."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return decomposed.encode("ascii", "ignore").decode().lower().strip()


def email_key(email: str) -> str:
    """The mailbox an address reaches: ``+tags`` dropped, and dots too where the provider ignores them."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain:
        return ""
    domain = _ALIAS_PROVIDERS.get(domain, domain)
    local = local.split("+", 1)[0]
    if domain in DOTLESS_PROVIDERS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else ""


def phone_key(phone: str) -> str:
    """An E.164 number (normalization made it so), or nothing: a number kept as entered matches nothing."""
    phone = (phone or "").strip()
    if not phone.startswith("+"):
        return ""
    digits = phone[1:]
    return phone if digits.isdigit() and 8 <= len(digits) <= 15 else ""


@functools.lru_cache(maxsize=65536)
def company_key(company: str) -> str:
    """A company name without legal form, punctuation or case: ``"ACME, Inc."`` -> ``"acme"``."""
    folded = fold(company)
    if not folded:
        return ""
    stripped = fold(basename(folded))
    return _NON_ALNUM.sub("", stripped) or _NON_ALNUM.sub("", folded)


def domain_key(domain: str) -> str:
    """A company's own web domain; free-mail providers say nothing about a company."""
    domain = (domain or "").strip().lower().removeprefix("www.")
    return "" if not domain or "." not in domain or domain in FREE_EMAIL_DOMAINS else domain


def postal_key(postal_code: str) -> str:
    """A postal code without spaces or case (the country is left out: it is often missing)."""
    return _NON_ALNUM.sub("", fold(postal_code))


@functools.lru_cache(maxsize=65536)
def name_sound(name: str) -> str:
    """How a name sounds (Metaphone of its letters), so ``Meyer`` and ``Meier`` agree."""
    letters = _NON_ALPHA.sub("", fold(name))
    if len(letters) < 2:
        return ""
    return jellyfish.metaphone(letters)[:8] or letters[:8]


def lead_keys(fields: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every ``(kind, value)`` blocking key of one person's fields (missing fields give no key)."""
    keys: set[tuple[str, str]] = set()
    email = email_key(str(fields.get("email") or ""))
    if email:
        keys.add((EMAIL, email))
    phone = phone_key(str(fields.get("phone") or ""))
    if phone:
        keys.add((PHONE, phone))
    sounds = {name_sound(str(fields.get(name) or "")) for name in ("first_name", "last_name")} - {""}
    if not sounds:
        return keys
    places = []
    postal = postal_key(str(fields.get("postal_code") or ""))
    if postal:
        places.append((NAME_POSTAL, postal))
    company = company_key(str(fields.get("company") or ""))
    if company:
        places.append((NAME_COMPANY, company))
    domain = domain_key(str(fields.get("company_domain") or ""))
    if domain:
        places.append((NAME_DOMAIN, domain))
    for sound in sounds:
        for kind, place in places:
            keys.add((kind, f"{sound}|{place}"))
    return {(kind, value[:VALUE_MAX]) for kind, value in keys}
