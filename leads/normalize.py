"""Normalization of raw lead values: pure functions over strings, no ORM.

Each normalizer returns the clean value and, when the input could not be made valid, a problem
in words. Callers keep an invalid value as entered and record the problem (``Lead.invalid_fields``):
nothing a person typed is silently dropped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

#: Providers where anyone gets an address: not a company domain.
FREE_EMAIL_DOMAINS = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com hotmail.com hotmail.co.uk
    hotmail.fr hotmail.de live.com live.co.uk outlook.com outlook.de msn.com aol.com icloud.com me.com mac.com
    gmx.com gmx.de gmx.net web.de t-online.de mail.ru yandex.ru yandex.com protonmail.com proton.me pm.me
    zoho.com zohomail.com mail.com email.com fastmail.com hey.com tutanota.com qq.com 163.com 126.com
    naver.com laposte.net orange.fr free.fr libero.it virgilio.it seznam.cz wp.pl o2.pl rediffmail.com
    """.split()
)

#: Providers that ignore dots in the local part (used by matching, not for display).
DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})

_SPACES = re.compile(r"\s+")
_KEEP_UPPER = frozenset(
    "LLC PLC AG SA BV NV GMBH LLP LP AB AS OY SE KG USA UK EU IBM SAP HP GE AI IT HR CRM ERP SAAS B2B".split()
)

_COUNTRY_ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "britain": "GB",
    "deutschland": "DE",
    "holland": "NL",
    "the netherlands": "NL",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "czech republic": "CZ",
    "vietnam": "VN",
    "uae": "AE",
    "schweiz": "CH",
    "españa": "ES",
    "espana": "ES",
    "brasil": "BR",
    "österreich": "AT",
    "osterreich": "AT",
    "italia": "IT",
}

# Order matters: the first pattern that matches decides.
_SENIORITY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("student", re.compile(r"\b(student|intern|trainee|phd candidate|undergrad)", re.I)),
    (
        "c_level",
        re.compile(r"\b(ceo|cto|cfo|coo|cmo|cio|ciso|cro|cpo|chief|founder|co-founder|owner|president)\b", re.I),
    ),
    ("vp", re.compile(r"\b(vp|svp|evp|vice[- ]president|head of|general manager|gm)\b", re.I)),
    ("director", re.compile(r"\bdirector\b", re.I)),
    ("manager", re.compile(r"\b(manager|lead|supervisor|principal)\b", re.I)),
    (
        "individual",
        re.compile(
            r"\b(engineer|developer|analyst|specialist|consultant|associate|coordinator|"
            r"representative|administrator|designer|scientist|architect|accountant|assistant)\b",
            re.I,
        ),
    ),
]

_FUNCTION_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("engineering", re.compile(r"\b(cto|engineer\w*|developer|devops|software|architect|technical|it)\b", re.I)),
    ("marketing", re.compile(r"\b(cmo|marketing|growth|brand|demand|content|seo|communications)\b", re.I)),
    ("sales", re.compile(r"\b(cro|sales|account executive|business development|bdr|sdr|revenue)\b", re.I)),
    ("finance", re.compile(r"\b(cfo|finance|financial|accounting|accountant|controller|treasury)\b", re.I)),
    ("operations", re.compile(r"\b(coo|operations|ops|supply chain|logistics|procurement)\b", re.I)),
    ("it", re.compile(r"\b(cio|ciso|security|infrastructure|network|systems)\b", re.I)),
    ("hr", re.compile(r"\b(hr|human resources|people|talent|recruit\w*)\b", re.I)),
    ("product", re.compile(r"\b(cpo|product)\b", re.I)),
    ("executive", re.compile(r"\b(ceo|founder|co-founder|owner|president|chief)\b", re.I)),
]


@dataclass(slots=True)
class Normalized:
    """The clean values of one lead, and ``problems``: {field: {"value": as entered, "problem": why}}."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, dict[str, str]] = field(default_factory=dict)

    def flag(self, name: str, entered: Any, problem: str) -> None:
        self.problems[name] = {"value": squash(entered)[:300], "problem": problem}


def squash(value: Any) -> str:
    """Text with stray whitespace (tabs, newlines, doubled spaces) collapsed and ends trimmed."""
    if value is None:
        return ""
    return _SPACES.sub(" ", str(value)).strip()


#: A local part ``email_validator`` always accepts: dot-separated runs of plain ASCII letters,
#: digits and ``_%+-`` (no leading, trailing or doubled dot), at most 64 characters.
_PLAIN_LOCAL = re.compile(r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*")


_EMAIL_EDGES = re.compile(r"^[\s<>]+|[\s<>]+$")


def normalize_email(raw: Any) -> tuple[str, str | None]:
    """Trimmed, lower-cased e-mail; syntax checked (no network look-up)."""
    value = squash(raw).lower()
    while True:  # "<a@b.com>", "mailto:a@b.com", " < a@b.com > ": until nothing is left to take off
        bare = _EMAIL_EDGES.sub("", value).removeprefix("mailto:")
        if bare == value:
            break
        value = bare
    if not value:
        return "", None
    # The common case without the validator's per-character checks (a list repeats its domains):
    # a plain local part at a domain the validator accepted. Anything else goes through it whole.
    local, at, domain = value.rpartition("@")
    if at and len(value) <= 254 and len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local) and _domain_valid(domain):
        return value, None
    try:
        validate_email(value, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        return value, f"Not a valid e-mail address: {exc}"
    return value, None


@functools.lru_cache(maxsize=16384)
def _domain_valid(domain: str) -> bool:
    """Whether ``email_validator`` accepts an address at ``domain`` (as ``a@domain``)."""
    try:
        validate_email(f"a@{domain}", check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return False
    return True


def normalize_phone(raw: Any, country: str = "") -> tuple[str, str | None]:
    """The number in E.164 (``+14155550123``), reading national numbers in ``country``."""
    value = squash(raw)
    if not value:
        return "", None
    return _phone_e164(value, country)


@functools.lru_cache(maxsize=65536)
def _phone_e164(value: str, country: str) -> tuple[str, str | None]:
    """Cached: ``phonenumbers`` takes longer than the rest of a lead's normalization, and lists repeat numbers."""
    try:
        number = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        reason = "no country to read it in" if not country and not value.startswith("+") else "not a phone number"
        return value, f"Could not read the phone number ({reason})"
    if not phonenumbers.is_valid_number(number):
        return value, "Not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def clean_name(raw: Any) -> str:
    """A person's name without shouting or stray whitespace: ``"  JOHN  o'neil "`` -> ``"John O'Neil"``."""
    value = squash(raw)
    if value and (value.isupper() or value.islower()):
        value = value.title()
    return value


def clean_company(raw: Any) -> str:
    """A company name without shouting, keeping legal forms and acronyms: ``ACME INC`` -> ``Acme Inc``."""
    value = squash(raw)
    if not value or not value.isupper() or len(value) <= 4:
        return value
    words = []
    for word in value.split(" "):
        bare = re.sub(r"[^A-Z]", "", word)
        words.append(word if bare in _KEEP_UPPER or len(bare) <= 2 else word.capitalize())
    return " ".join(words)


def domain_from_website(raw: Any) -> str:
    """``https://www.Acme.com/about`` -> ``acme.com``."""
    value = squash(raw).lower()
    if not value:
        return ""
    if "//" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    host = host.removeprefix("www.")
    return host if "." in host else ""


def email_domain(email: str) -> str:
    return email.rpartition("@")[2] if "@" in email else ""


def is_free_email(email: str) -> bool:
    return email_domain(email) in FREE_EMAIL_DOMAINS


def company_domain(website: Any, email: str) -> str:
    """The company's domain: from the website, else from a business (not free) e-mail."""
    return domain_from_website(website) or ("" if is_free_email(email) else email_domain(email))


def normalize_country(raw: Any) -> tuple[str, str | None]:
    """ISO 3166-1 alpha-2 code from a code (``us``, ``USA``) or a name (``Germany``, ``Deutschland``)."""
    value = squash(raw)
    if not value:
        return "", None
    return _country_code(value[:80])


@functools.lru_cache(maxsize=4096)
def _country_code(value: str) -> tuple[str, str | None]:
    key = value.lower()
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key], None
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        try:
            country = pycountry.countries.search_fuzzy(value)[0]
        except LookupError:
            return value, "Unknown country"
    return country.alpha_2, None


def classify_title(raw: Any) -> tuple[str, str]:
    """(seniority, function) recognised in a job title; empty strings where nothing is recognised."""
    title = squash(raw)
    seniority = next((name for name, pattern in _SENIORITY_PATTERNS if pattern.search(title)), "")
    function = next((name for name, pattern in _FUNCTION_PATTERNS if pattern.search(title)), "")
    return seniority, function


def parse_employees(raw: Any) -> tuple[int | None, str | None]:
    """Head count from ``250``, ``"1,200"``, ``"51-200"`` (upper bound), ``"10k"`` or ``"5000+"``."""
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, int | float):
        return (int(raw), None) if raw >= 0 else (None, "Employees cannot be negative")
    text = squash(raw).lower().replace(",", "").replace(" ", "").rstrip("+")
    match = re.fullmatch(r"(?:(\d+)-)?(\d+(?:\.\d+)?)(k?)", text)
    if not match:
        return None, "Employees is not a number"
    number = float(match.group(2)) * (1000 if match.group(3) else 1)
    return int(number), None


def normalize_lead(raw: dict[str, Any]) -> Normalized:
    """Every normalizable field of one raw lead. Unknown keys are ignored here (kept as extra elsewhere).

    An invalid e-mail or phone stays in its field as entered; a value that cannot be stored in its
    column (an unknown country, a head count that is not a number) is left empty there. Either way
    the entered value and the problem are in ``problems``.
    """
    out = Normalized()
    values = out.values
    values["first_name"] = _cut(clean_name(_cut(squash(raw.get("first_name")), 150)), 150)
    values["last_name"] = _cut(clean_name(_cut(squash(raw.get("last_name")), 150)), 150)
    if not values["first_name"] and not values["last_name"] and raw.get("name"):
        # Each part cleaned on its own, so the stored names come out the same when normalized again.
        first, _, last = squash(raw.get("name")).partition(" ")
        values["first_name"] = _cut(clean_name(_cut(first, 150)), 150)
        values["last_name"] = _cut(clean_name(_cut(last, 150)), 150)
    country, problem = normalize_country(raw.get("country"))
    values["country"] = "" if problem else country
    if problem:
        out.flag("country", raw.get("country"), problem)
    email, problem = normalize_email(raw.get("email"))
    values["email"] = email[:254]
    if problem:
        out.flag("email", raw.get("email"), problem)
    phone, problem = normalize_phone(raw.get("phone"), values["country"])
    values["phone"] = phone[:32]
    if problem:
        out.flag("phone", raw.get("phone"), problem)
    values["company"] = _cut(clean_company(_cut(squash(raw.get("company")), 200)), 200)
    values["website"] = _cut(squash(raw.get("website")), 300)
    values["company_domain"] = company_domain(values["website"], "" if "email" in out.problems else email)[:253]
    values["title"] = _cut(squash(raw.get("title")), 200)
    values["seniority"], values["job_function"] = classify_title(values["title"])
    values["industry"] = _cut(squash(raw.get("industry")).lower(), 100)
    employees, problem = parse_employees(raw.get("employees"))
    values["employees"] = employees
    if problem:
        out.flag("employees", raw.get("employees"), problem)
    for name, size in (("street", 200), ("city", 100), ("state", 100), ("postal_code", 20)):
        values[name] = _cut(squash(raw.get(name)), size)
    # Cut again after the case changes: "ß" upper-cases (and title-cases) to two letters.
    values["postal_code"] = _cut(values["postal_code"].upper(), 20)
    values["city"] = _cut(clean_name(values["city"]), 100)
    return out


def _cut(value: str, size: int) -> str:
    """``value`` cut to its column's ``size`` without a trailing space, so normalizing again keeps it.

    Names and companies are cut before their case is cleaned too: whether a name is all capitals
    must be judged on the part that is kept.
    """
    return value[:size].rstrip()
