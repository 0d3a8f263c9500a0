"""Demo data: users for every role, a published lead definition, territories and reps, sources,
campaigns, accounts, and realistic leads with activities, scores and stage history.

``demo_seed`` is what ``manage.py seed_demo`` runs. The data is reproducible (Faker and
``random`` are seeded) apart from its timestamps, which are relative to now.

The leads go through the pipeline's own pure functions, in Python, and are then written with a
handful of bulk statements (a few hundred leads take about a second): titles are classified with
``classify_title``, junk is found by ``screen_lead`` under the published definition, scores come
from ``scoring.engine.score_lead`` over ``scoring.services.lead_fields``. What the pipeline cannot do
yet, and reps would have done over the past weeks, is simulated: routing (account owner first, else
a territory rep with room: capacity, daily intake, minimum score) and the stage moves after MQL,
legal transitions only, each with a StageChange and an audit event.
"""

from __future__ import annotations

import copy
import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone

from leadflow.db import bulk_update_rows
from leads.models import (
    OPEN_STAGES,
    STAGE_TRANSITIONS,
    Account,
    Activity,
    AuditEvent,
    Campaign,
    Contact,
    ImportJob,
    Lead,
    LeadDefinition,
    Opportunity,
    Reason,
    Source,
    SourceRecord,
    Stage,
    StageChange,
    Submission,
)
from leads.normalize import classify_title
from leads.pipeline import SCREENED_FIELDS
from leads.roles import ADMIN, MARKETING, SALES, roles_ensure
from leads.screening import screen_lead
from leads.selectors import lead_definition_current
from leads.services import audit_record
from routing.models import Rep, Territory, TerritoryMembership
from scoring.defaults import DEFAULT_RULES
from scoring.engine import ActivityFact, LeadFacts, score_lead
from scoring.services import ENGAGEMENT_KINDS, lead_fields

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from faker import Faker

DEMO_PASSWORD = "leadflow-demo"
DEMO_SEED = 20240917
ACCOUNT_COUNT = 40


# --- The fixed cast ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUserSpec:
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    superuser: bool = False


#: Publishing a lead definition takes a marketing admin and a sales admin: ada and sam.
DEMO_USERS: tuple[DemoUserSpec, ...] = (
    DemoUserSpec("mara", "Mara", "Lindqvist", (MARKETING,)),
    DemoUserSpec("rick", "Rick", "Alvarez", (SALES,)),
    DemoUserSpec("sara", "Sara", "Okafor", (SALES,)),
    DemoUserSpec("tom", "Tom", "Becker", (SALES,)),
    DemoUserSpec("ada", "Ada", "Moreau", (ADMIN, MARKETING), superuser=True),
    DemoUserSpec("sam", "Sam", "Tanaka", (ADMIN, SALES)),
)
DEMO_USERNAMES = tuple(spec.username for spec in DEMO_USERS)

US_EAST = {"NY": "212", "MA": "617", "NJ": "201", "PA": "215", "FL": "305", "GA": "404", "NC": "919", "VA": "703"}
US_WEST = {"CA": "415", "WA": "206", "OR": "503", "TX": "512", "CO": "303", "AZ": "602", "UT": "801"}
CA_EAST = {"ON": "416", "QC": "514"}
CA_WEST = {"BC": "604", "AB": "403"}
EMEA = ("GB", "DE", "FR", "NL", "ES", "SE", "IE")
APAC = ("AU", "SG", "JP", "IN")


@dataclass(frozen=True)
class TerritorySpec:
    slug: str
    name: str
    priority: int
    countries: tuple[str, ...]
    regions: tuple[str, ...]
    manager: str


TERRITORIES: tuple[TerritorySpec, ...] = (
    TerritorySpec("na-east", "North America East", 10, ("US", "CA"), (*US_EAST, *CA_EAST), "sam"),
    TerritorySpec("na-west", "North America West", 20, ("US", "CA"), (*US_WEST, *CA_WEST), "sam"),
    TerritorySpec("emea", "EMEA", 30, EMEA, (), "ada"),
    TerritorySpec("apac", "APAC", 40, APAC, (), "ada"),
)


@dataclass(frozen=True)
class RepSpec:
    username: str
    max_open_leads: int
    max_new_per_day: int
    min_score: int
    timezone: str
    work_start: time
    work_end: time
    seats: tuple[tuple[str, int], ...]  # (territory slug, weight)
    backup: str | None = None


REPS: tuple[RepSpec, ...] = (
    RepSpec("rick", 30, 8, 0, "America/New_York", time(8), time(17), (("na-east", 3), ("na-west", 1)), "sara"),
    RepSpec("sara", 25, 6, 0, "America/Los_Angeles", time(8), time(17), (("na-west", 3), ("na-east", 1)), "rick"),
    RepSpec("tom", 25, 6, 0, "Europe/Berlin", time(9), time(18), (("emea", 3), ("apac", 1)), "sam"),
    RepSpec("sam", 10, 3, 70, "Asia/Singapore", time(9), time(18), (("apac", 2), ("emea", 1)), "tom"),
)


@dataclass(frozen=True)
class SourceSpec:
    slug: str
    name: str
    kind: str
    trust: int
    weight: int  # share of the demo's leads
    external_id: str | None  # pattern for imported records' ids, "{n}" is a running number
    intent: tuple[int, int, int]  # hot, warm, cold shares


WEB_FORM_SLUG = "website-form"
SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec(WEB_FORM_SLUG, "Website form", Source.Kind.WEB_FORM, 80, 45, None, (35, 40, 25)),
    SourceSpec("webinar-platform", "Webinar platform", Source.Kind.API, 70, 15, "WBR-{n:05d}", (30, 50, 20)),
    SourceSpec("trade-show-list", "Trade-show list", Source.Kind.EVENT, 50, 12, "SAASTR-EU-{n:04d}", (20, 40, 40)),
    SourceSpec("partner-referrals", "Partner referrals", Source.Kind.PARTNER, 60, 10, "NW-REF-{n:04d}", (40, 40, 20)),
    SourceSpec("purchased-list", "Purchased list", Source.Kind.LIST_IMPORT, 30, 18, "LIST-{n:05d}", (5, 25, 70)),
)
DEMO_SOURCE_SLUGS = tuple(spec.slug for spec in SOURCES)


@dataclass(frozen=True)
class CampaignSpec:
    slug: str
    name: str
    source: str
    cost: str
    starts_days_ago: int
    ends_days_ago: int | None


CAMPAIGNS: tuple[CampaignSpec, ...] = (
    CampaignSpec("search-ads-q3", "Search ads Q3", WEB_FORM_SLUG, "18500.00", 75, None),
    CampaignSpec("content-syndication", "Content syndication: routing benchmark", WEB_FORM_SLUG, "6200.00", 50, 10),
    CampaignSpec("webinar-scoring", "Webinar: lead scoring sales trusts", "webinar-platform", "4800.00", 45, 30),
    CampaignSpec("saastr-europe", "SaaStr Europe booth", "trade-show-list", "32000.00", 40, 38),
    CampaignSpec("partner-comarketing", "Partner co-marketing", "partner-referrals", "9000.00", 60, None),
    CampaignSpec("emea-it-directors-list", "Purchased list: EMEA IT directors", "purchased-list", "3500.00", 22, 22),
)
DEMO_CAMPAIGN_SLUGS = tuple(spec.slug for spec in CAMPAIGNS)

# --- What people and companies look like ------------------------------------------------------

COUNTRY_WEIGHTS: dict[str, int] = {
    "US": 44,
    "CA": 6,
    "GB": 10,
    "DE": 8,
    "FR": 6,
    "NL": 4,
    "ES": 3,
    "SE": 2,
    "IE": 2,
    "AU": 5,
    "SG": 3,
    "JP": 3,
    "IN": 4,
}
LOCALES = {
    "US": "en_US",
    "CA": "en_CA",
    "GB": "en_GB",
    "DE": "de_DE",
    "FR": "fr_FR",
    "NL": "nl_NL",
    "ES": "es_ES",
    "SE": "sv_SE",
    "IE": "en_IE",
    "AU": "en_AU",
    "SG": "en_US",
    "JP": "ja_JP",
    "IN": "en_IN",
}
TLDS = {
    "US": ".com",
    "CA": ".ca",
    "GB": ".co.uk",
    "DE": ".de",
    "FR": ".fr",
    "NL": ".nl",
    "ES": ".es",
    "SE": ".se",
    "IE": ".ie",
    "AU": ".com.au",
    "SG": ".com.sg",
    "JP": ".co.jp",
    "IN": ".in",
}
LEGAL_SUFFIX = {
    "US": " Inc.",
    "CA": " Inc.",
    "GB": " Ltd",
    "DE": " GmbH",
    "FR": " SAS",
    "NL": " B.V.",
    "ES": " S.L.",
    "SE": " AB",
    "IE": " Ltd",
    "AU": " Pty Ltd",
    "SG": " Pte Ltd",
    "JP": " K.K.",
    "IN": " Pvt Ltd",
}
# E.164 prefix (country code and a real area code) and how many more digits follow.
PHONE_PLANS = {
    "GB": ("+44207946", 4),
    "DE": ("+4930", 8),
    "FR": ("+331", 8),
    "NL": ("+3120", 7),
    "ES": ("+3491", 7),
    "SE": ("+468", 7),
    "IE": ("+3531", 7),
    "AU": ("+6129", 7),
    "SG": ("+656", 7),
    "JP": ("+813", 8),
    "IN": ("+9180", 8),
}
CITIES = {"SG": [("Singapore", "")], "JP": [("Tokyo", "Tokyo"), ("Osaka", "Osaka"), ("Yokohama", "Kanagawa")]}

INDUSTRY_WEIGHTS: dict[str, int] = {
    "software": 22,
    "fintech": 12,
    "manufacturing": 14,
    "healthcare": 10,
    "retail": 10,
    "logistics": 8,
    "media": 6,
    "professional services": 9,
    "education": 2,
    "government": 2,
}
INDUSTRY_WORDS = {
    "software": ["Software", "Labs", "Cloud", "Systems", "Data"],
    "fintech": ["Pay", "Capital", "Ledger", "Finance"],
    "manufacturing": ["Industries", "Manufacturing", "Robotics", "Components"],
    "healthcare": ["Health", "Medical", "Care"],
    "retail": ["Retail", "Brands", "Stores"],
    "logistics": ["Logistics", "Freight", "Shipping"],
    "media": ["Media", "Studios"],
    "professional services": ["Consulting", "Partners", "Advisory"],
}
EMPLOYEE_BANDS = ((2, 10, 12), (11, 50, 20), (51, 199, 23), (200, 999, 25), (1000, 4999, 13), (5000, 40000, 7))

#: Job titles and how common they are; seniority and function come from ``classify_title``.
TITLES: dict[str, int] = {
    "Chief Executive Officer": 2,
    "Chief Technology Officer": 2,
    "Chief Marketing Officer": 2,
    "Chief Revenue Officer": 2,
    "VP of Sales": 4,
    "VP Marketing": 4,
    "VP of Engineering": 2,
    "Head of Revenue Operations": 3,
    "Director of Sales Operations": 5,
    "Director of Demand Generation": 5,
    "IT Director": 4,
    "Finance Director": 2,
    "Marketing Manager": 8,
    "Sales Manager": 7,
    "IT Manager": 5,
    "Operations Manager": 5,
    "Demand Generation Lead": 3,
    "Marketing Operations Specialist": 7,
    "Sales Development Representative": 7,
    "Software Engineer": 6,
    "Data Analyst": 5,
}
STUDENT_TITLES = ("Student", "Intern", "PhD Candidate")
COMPETITORS = {"rivalcrm.com": "RivalCRM", "pipelinepro.io": "PipelinePro"}  # as in DEFAULT_RULES
PERSONAL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com")

PAGES = ("/features", "/integrations", "/customers", "/security", "/docs/api", "/blog/lead-scoring-101")
DOWNLOADS = ("The 2025 lead routing benchmark", "Lead scoring playbook", "SLA templates for sales and marketing")
EMAILS = ("Your lead definition, in one page", "How Acme cut lead response time to 9 minutes", "New: routing rules")
FORMS = ("Request a demo", "Contact sales", "Start a trial")
LOST_REASONS = ("Chose a competitor", "No budget this year", "Went with an in-house tool", "Went dark after demo")
DEAL_NAMES = ("new business", "platform licence", "team rollout", "pilot", "annual plan", "expansion")
REJECT_REASONS = ("Not ready to buy this quarter", "Too small for a sales conversation", "Only researching")

#: What a form or list row sends; the rest of a lead is derived by the pipeline.
PAYLOAD_FIELDS = (
    "first_name", "last_name", "email", "phone", "company", "website", "title", "industry", "employees",
    "street", "city", "state", "postal_code", "country",
)  # fmt: skip
SUBMISSION_VIA = {
    Source.Kind.WEB_FORM: "web_form",
    Source.Kind.API: "api",
    Source.Kind.EVENT: "import",
    Source.Kind.PARTNER: "api",
    Source.Kind.LIST_IMPORT: "import",
}

INTENTS = ("hot", "warm", "cold")
#: (min, max) count per activity kind, by intent.
ENGAGEMENT: dict[str, dict[str, tuple[int, int]]] = {
    "hot": {
        Activity.Kind.PAGE_VISIT: (3, 8),
        Activity.Kind.PRICING_VISIT: (1, 3),
        Activity.Kind.EMAIL_OPEN: (2, 5),
        Activity.Kind.EMAIL_CLICK: (1, 4),
        Activity.Kind.CONTENT_DOWNLOAD: (0, 2),
        Activity.Kind.WEBINAR: (0, 1),
    },
    "warm": {
        Activity.Kind.PAGE_VISIT: (1, 4),
        Activity.Kind.PRICING_VISIT: (0, 1),
        Activity.Kind.EMAIL_OPEN: (1, 4),
        Activity.Kind.EMAIL_CLICK: (0, 2),
        Activity.Kind.CONTENT_DOWNLOAD: (0, 1),
    },
    "cold": {Activity.Kind.PAGE_VISIT: (0, 2), Activity.Kind.EMAIL_OPEN: (0, 3)},
}

# --- The result -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    roles: tuple[str, ...]
    superuser: bool
    created: bool


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    password: str
    logins: tuple[DemoLogin, ...]
    web_form_source: str
    web_form_api_key: str | None  # only when the source was created now; the key is not stored
    definition_version: int | None
    leads: int
    stages: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


# --- Entry points -----------------------------------------------------------------------------


def demo_present() -> bool:
    """Whether the demo data is already in the database (its web-form source is the marker)."""
    return Source.objects.filter(slug=WEB_FORM_SLUG).exists()


@transaction.atomic
def demo_seed(*, leads: int = 300, reset: bool = False, seed: int = DEMO_SEED) -> DemoSummary:
    """Create the demo data, or say it is already there. ``reset`` first removes the demo data."""
    if leads < 0:
        raise ValueError("The number of leads cannot be negative.")
    if reset:
        demo_reset()
    elif demo_present():
        return DemoSummary(
            created=False,
            password=DEMO_PASSWORD,
            logins=_logins(created=set()),
            web_form_source=WEB_FORM_SLUG,
            web_form_api_key=None,
            definition_version=getattr(lead_definition_current(), "version", None),
            leads=Lead.objects.filter(source__slug__in=DEMO_SOURCE_SLUGS).count(),
        )
    return _DemoBuilder(seed=seed, now=timezone.now()).build(lead_count=leads)


@transaction.atomic
def demo_reset(*, seed: int = DEMO_SEED) -> None:
    """Delete the demo data: its leads (with their history, raw submissions, imports and audit events),
    sources, campaigns, accounts, territories, the definitions its users wrote, and its users.
    Other data stays."""
    demo_leads = Lead.objects.filter(source__slug__in=DEMO_SOURCE_SLUGS)
    # Opportunities protect their leads and accounts; accounts made by demo conversions go with them.
    converted_accounts = set(Opportunity.objects.filter(lead__in=demo_leads).values_list("account_id", flat=True))
    Opportunity.objects.filter(lead__in=demo_leads).delete()
    doomed = (
        demo_leads,
        LeadDefinition.objects.filter(author__username__in=DEMO_USERNAMES),
        Source.objects.filter(slug__in=DEMO_SOURCE_SLUGS),
        Campaign.objects.filter(slug__in=DEMO_CAMPAIGN_SLUGS),
    )
    for queryset in doomed:
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(queryset.model),
            object_id__in=queryset.values(pk_text=Cast("pk", output_field=CharField())),
        ).delete()
    ImportJob.objects.filter(source__slug__in=DEMO_SOURCE_SLUGS).delete()
    Submission.objects.filter(source__slug__in=DEMO_SOURCE_SLUGS).delete()
    for queryset in doomed:
        queryset.delete()
    domains = demo_account_domains(seed=seed)
    Contact.objects.filter(account__domain__in=domains).delete()
    Account.objects.filter(domain__in=domains).delete()
    made = Account.objects.filter(pk__in=converted_accounts, opportunities__isnull=True, leads__isnull=True)
    Contact.objects.filter(account__in=made).delete()
    made.delete()
    Territory.objects.filter(slug__in=[spec.slug for spec in TERRITORIES]).delete()
    get_user_model().objects.filter(username__in=DEMO_USERNAMES).delete()


def demo_account_domains(*, seed: int = DEMO_SEED) -> list[str]:
    """The domains of the demo's target accounts (accounts made by its conversions come on top)."""
    return [spec.domain for spec in demo_account_specs(_new_faker(), seed=seed)]


def _logins(*, created: set[str]) -> tuple[DemoLogin, ...]:
    return tuple(DemoLogin(spec.username, spec.roles, spec.superuser, spec.username in created) for spec in DEMO_USERS)


# --- Generators (no database) -----------------------------------------------------------------


def _new_faker() -> Faker:
    try:
        from faker import Faker
    except ModuleNotFoundError as exc:  # a development dependency (requirements-dev.txt)
        raise RuntimeError("The demo data needs Faker: pip install -r requirements-dev.txt") from exc
    return Faker(sorted(set(LOCALES.values())))


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _ascii(text: str) -> str:
    """``Müller-Lüdenscheidt`` -> ``mullerludenscheidt``: for e-mail addresses and domains."""
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _person_name(fake: Faker, country: str) -> tuple[str, str]:
    generator = fake[LOCALES[country]]
    if country == "JP":  # romanized, so e-mail addresses can be made from them
        return generator.first_romanized_name(), generator.last_romanized_name()
    return generator.first_name(), generator.last_name()


def _employees(rng: random.Random) -> int:
    low, high, _ = rng.choices(EMPLOYEE_BANDS, weights=[band[2] for band in EMPLOYEE_BANDS])[0]
    return rng.randint(low, high)


@dataclass(frozen=True)
class Place:
    street: str
    city: str
    state: str
    postal_code: str


def _place(rng: random.Random, fake: Faker, country: str, state: str = "") -> Place:
    generator = fake[LOCALES[country]]
    if country == "US":
        state = state or rng.choice([*US_EAST, *US_WEST])
        return Place(generator.street_address(), generator.city(), state, generator.zipcode_in_state(state))
    if country == "CA":
        state = state or rng.choice([*CA_EAST, *CA_WEST])
        return Place(generator.street_address(), generator.city(), state, generator.postcode_in_province(state))
    if country in CITIES:
        city, region = rng.choice(CITIES[country])
        postal = (
            f"{rng.randint(10000, 829999):06d}"
            if country == "SG"
            else f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"
        )
        return Place("", city, region, postal)
    if country == "AU":
        state = state or generator.state_abbr()
    elif country == "IN":
        state = state or generator.state()
    return Place(generator.street_address(), generator.city(), state, generator.postcode())


def _phone(rng: random.Random, country: str, state: str) -> str:
    """A plausible number in E.164 form."""
    if country in ("US", "CA"):
        area = {**US_EAST, **US_WEST, **CA_EAST, **CA_WEST}.get(state, "212")
        return f"+1{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
    prefix, digits = PHONE_PLANS[country]
    return prefix + str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1))


def _company(rng: random.Random, fake: Faker, country: str, industry: str, city: str) -> tuple[str, str]:
    """A company name and its web domain."""
    if industry == "government":
        tld = ".gov" if country == "US" else f".gov{TLDS[country]}" if country in ("GB", "AU", "IN") else TLDS[country]
        return f"City of {city}", f"{_ascii(city)}{tld}"
    if industry == "education":
        tld = ".edu" if country == "US" else ".ac.uk" if country == "GB" else TLDS[country]
        return f"University of {city}", f"uni-{_ascii(city)}{tld}"
    surname = _person_name(fake, country)[1]
    word = rng.choice(INDUSTRY_WORDS[industry])
    tld = ".io" if industry == "software" and rng.random() < 0.3 else TLDS[country]
    return f"{surname} {word}{LEGAL_SUFFIX[country]}", f"{_ascii(surname)}{_ascii(word)}{tld}"


@dataclass(frozen=True)
class AccountSpec:
    name: str
    domain: str
    industry: str
    employees: int
    country: str
    place: Place


def demo_account_specs(fake: Faker, *, seed: int = DEMO_SEED) -> list[AccountSpec]:
    """The demo's accounts; the same list for the same seed (``demo_reset`` finds them by domain)."""
    rng = random.Random(seed)
    fake.seed_instance(seed)
    industries = {name: weight for name, weight in INDUSTRY_WEIGHTS.items() if name in INDUSTRY_WORDS}
    specs: dict[str, AccountSpec] = {}
    while len(specs) < ACCOUNT_COUNT:
        country = _weighted(rng, COUNTRY_WEIGHTS)
        industry = _weighted(rng, industries)
        place = _place(rng, fake, country)
        name, domain = _company(rng, fake, country, industry, place.city)
        if domain not in specs:
            specs[domain] = AccountSpec(name, domain, industry, _employees(rng), country, place)
    return list(specs.values())


def _territory_for(country: str, state: str) -> TerritorySpec | None:
    for spec in TERRITORIES:  # in priority order
        if country in spec.countries and (not spec.regions or state in spec.regions):
            return spec
    return None


# --- The builder ------------------------------------------------------------------------------


@dataclass
class _Move:
    to_stage: str
    at: datetime
    actor: User | None
    reason: str
    reason_code: Reason | None = None


@dataclass
class _LeadPlan:
    lead: Lead
    created_at: datetime
    activities: list[Activity]
    external_id: str | None
    junk_reason: str
    payload: dict[str, Any]
    moves: list[_Move] = field(default_factory=list)
    contact: Contact | None = None
    opportunity: Opportunity | None = None
    opportunity_at: datetime | None = None


class _Seats:
    """Which rep may take a lead now: account owner first, else a territory rep with room."""

    def __init__(self, reps: dict[str, Rep], rng: random.Random) -> None:
        self.reps = reps
        self.rng = rng
        self.daily: Counter[tuple[str, date]] = Counter()
        self.open: Counter[str] = Counter(
            Lead.objects.filter(
                owner__in=[rep.user for rep in reps.values()], stage__in=OPEN_STAGES, status=Lead.Status.ACTIVE
            ).values_list("owner__username", flat=True)
        )

    def _has_room(self, username: str, score: int, day: date, stays_open: bool) -> bool:
        rep = self.reps[username]
        return (
            rep.is_available
            and score >= rep.min_score
            and self.daily[username, day] < rep.max_new_per_day
            and (not stays_open or self.open[username] < rep.max_open_leads)
        )

    def take(
        self, *, account_owner: str | None, territory: TerritorySpec | None, score: int, day: date, stays_open: bool
    ) -> Rep | None:
        candidates: list[tuple[str, int]] = []
        if account_owner in self.reps and self._has_room(account_owner, score, day, stays_open):
            candidates = [(account_owner, 1)]
        elif territory is not None:
            candidates = [
                (spec.username, weight)
                for spec in REPS
                for slug, weight in spec.seats
                if slug == territory.slug and self._has_room(spec.username, score, day, stays_open)
            ]
        if not candidates:
            return None
        username = self.rng.choices([c[0] for c in candidates], weights=[c[1] for c in candidates])[0]
        self.daily[username, day] += 1
        if stays_open:
            self.open[username] += 1
        return self.reps[username]


class _DemoBuilder:
    def __init__(self, *, seed: int, now: datetime) -> None:
        self.seed = seed
        self.now = now
        self.fake = _new_faker()
        self.rng = random.Random(seed + 1)
        self.emails: set[str] = set()
        self.record_numbers: Counter[str] = Counter()
        self.records_taken: set[tuple[str, str]] = set()
        # Deals (amounts, reasons from the lists, recycles) draw from their own generator, so adding them
        # left the rest of the demo exactly as it was.
        self.deal_rng = random.Random(seed + 7)
        self.reasons: dict[str, list[Reason]] = {}
        self.new_accounts: dict[str, Account] = {}  # made on conversion, by domain

    # Reference data ---------------------------------------------------------------------------

    def build(self, *, lead_count: int) -> DemoSummary:
        users, created_users = self._users()
        definition = self._definition(author=users["ada"])
        self._territories(users)
        reps = self._reps(users)
        sources, web_key = self._sources()
        campaigns = self._campaigns(sources)
        accounts = self._accounts(reps)
        self.reasons = {
            kind: list(Reason.objects.filter(kind=kind, is_active=True).order_by("position")) for kind in Reason.Kind
        }
        plans = self._leads(lead_count, definition, users, reps, sources, campaigns, accounts)
        stages = Counter(plan.lead.stage for plan in plans)
        return DemoSummary(
            created=True,
            password=DEMO_PASSWORD,
            logins=_logins(created=created_users),
            web_form_source=WEB_FORM_SLUG,
            web_form_api_key=web_key,
            definition_version=definition.version,
            leads=len(plans),
            stages={stage: stages[stage] for stage in Stage.values if stages[stage]},
            counts={
                "territories": len(TERRITORIES),
                "reps": len(reps),
                "sources": len(sources),
                "campaigns": len(campaigns),
                "accounts": len(accounts),
                "activities": sum(len(plan.activities) for plan in plans),
                "stage changes": sum(len(plan.moves) for plan in plans),
                "opportunities": sum(plan.opportunity is not None for plan in plans),
            },
        )

    def _users(self) -> tuple[dict[str, User], set[str]]:
        groups = roles_ensure()
        user_model = get_user_model()
        users = {user.username: user for user in user_model.objects.filter(username__in=DEMO_USERNAMES)}
        password = make_password(DEMO_PASSWORD)  # hashed once: it is the same for everyone
        new = [
            user_model(
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@leadflow.example",
                password=password,
                is_staff=spec.superuser,
                is_superuser=spec.superuser,
            )
            for spec in DEMO_USERS
            if spec.username not in users
        ]
        user_model.objects.bulk_create(new)
        users.update({user.username: user for user in user_model.objects.filter(username__in=DEMO_USERNAMES)})
        membership = user_model.groups.through
        membership.objects.bulk_create(
            [
                membership(user_id=users[spec.username].pk, group_id=groups[role].pk)
                for spec in DEMO_USERS
                for role in spec.roles
            ],
            ignore_conflicts=True,
        )
        return users, {user.username for user in new}

    def _definition(self, *, author: User) -> LeadDefinition:
        current = lead_definition_current()
        if current is not None:
            return current
        latest = LeadDefinition.objects.order_by("-version").values_list("version", flat=True).first()
        published_at = self.now - timedelta(days=62)
        definition = LeadDefinition.objects.create(
            version=(latest or 0) + 1,
            status=LeadDefinition.Status.PUBLISHED,
            rules=copy.deepcopy(DEFAULT_RULES),
            note="First version agreed by marketing and sales: B2B only, no competitors or students, "
            "MQL at 60, accept within 24 hours (2 hours for leads scoring 80+).",
            author=author,
            published_at=published_at,
            published_by=author,
        )
        LeadDefinition.objects.filter(pk=definition.pk).update(created_at=published_at - timedelta(days=2))
        event = audit_record(
            actor=author, action="definition.publish", obj=definition, changes={"status": ["draft", "published"]}
        )
        AuditEvent.objects.filter(pk=event.pk).update(created_at=published_at)
        return definition

    # Reference data that is already there (from an earlier, partly deleted demo) is kept as it is.

    def _territories(self, users: dict[str, User]) -> None:
        existing = set(
            Territory.objects.filter(slug__in=[spec.slug for spec in TERRITORIES]).values_list("slug", flat=True)
        )
        Territory.objects.bulk_create(
            [
                Territory(
                    slug=spec.slug,
                    name=spec.name,
                    priority=spec.priority,
                    countries=list(spec.countries),
                    regions=list(spec.regions),
                    manager=users[spec.manager],
                )
                for spec in TERRITORIES
                if spec.slug not in existing
            ]
        )

    def _reps(self, users: dict[str, User]) -> dict[str, Rep]:
        existing = {
            rep.user.username: rep
            for rep in Rep.objects.filter(user__username__in=DEMO_USERNAMES).select_related("user")
        }
        Rep.objects.bulk_create(
            [
                Rep(
                    user=users[spec.username],
                    max_open_leads=spec.max_open_leads,
                    max_new_per_day=spec.max_new_per_day,
                    min_score=spec.min_score,
                    timezone=spec.timezone,
                    work_start=spec.work_start,
                    work_end=spec.work_end,
                )
                for spec in REPS
                if spec.username not in existing
            ]
        )
        reps = {
            rep.user.username: rep
            for rep in Rep.objects.filter(user__username__in=DEMO_USERNAMES).select_related("user")
        }
        for spec in REPS:
            reps[spec.username].backup = reps[spec.backup] if spec.backup else None
        Rep.objects.bulk_update(reps.values(), ["backup"])
        territories = {t.slug: t for t in Territory.objects.filter(slug__in=[spec.slug for spec in TERRITORIES])}
        TerritoryMembership.objects.bulk_create(
            [
                TerritoryMembership(territory=territories[slug], rep=reps[spec.username], weight=weight)
                for spec in REPS
                for slug, weight in spec.seats
            ],
            ignore_conflicts=True,
        )
        return reps

    def _sources(self) -> tuple[dict[str, Source], str | None]:
        """The demo's sources, each with an API key; returns the web form's key if it was made now."""
        sources = {source.slug: source for source in Source.objects.filter(slug__in=DEMO_SOURCE_SLUGS)}
        keys: dict[str, str] = {}
        new = []
        for spec in SOURCES:
            if spec.slug not in sources:
                source = Source(slug=spec.slug, name=spec.name, kind=spec.kind, trust=spec.trust)
                keys[spec.slug] = source.set_new_api_key()
                new.append(source)
        Source.objects.bulk_create(new)
        sources.update({source.slug: source for source in new})
        return sources, keys.get(WEB_FORM_SLUG)

    def _campaigns(self, sources: dict[str, Source]) -> dict[str, Campaign]:
        today = timezone.localdate(self.now)
        campaigns = {c.slug: c for c in Campaign.objects.filter(slug__in=DEMO_CAMPAIGN_SLUGS).select_related("source")}
        new = [
            Campaign(
                slug=spec.slug,
                name=spec.name,
                source=sources[spec.source],
                cost=Decimal(spec.cost),
                starts_on=today - timedelta(days=spec.starts_days_ago),
                ends_on=None if spec.ends_days_ago is None else today - timedelta(days=spec.ends_days_ago),
            )
            for spec in CAMPAIGNS
            if spec.slug not in campaigns
        ]
        Campaign.objects.bulk_create(new)
        campaigns.update({campaign.slug: campaign for campaign in new})
        return campaigns

    def _accounts(self, reps: dict[str, Rep]) -> list[Account]:
        specs = demo_account_specs(self.fake, seed=self.seed)
        existing = {
            a.domain: a for a in Account.objects.filter(domain__in=[s.domain for s in specs]).select_related("owner")
        }
        owner_rng = random.Random(self.seed + 2)
        new = []
        for spec in specs:
            if spec.domain in existing:
                continue
            owner = None
            territory = _territory_for(spec.country, spec.place.state)
            if territory is not None and owner_rng.random() < 0.25:
                seated = [rep.username for rep in REPS if any(slug == territory.slug for slug, _ in rep.seats)]
                owner = reps[owner_rng.choice(seated)].user
            new.append(
                Account(
                    name=spec.name,
                    domain=spec.domain,
                    industry=spec.industry,
                    employees=spec.employees,
                    country=spec.country,
                    state=spec.place.state,
                    postal_code=spec.place.postal_code,
                    owner=owner,
                )
            )
        Account.objects.bulk_create(new)
        return [*existing.values(), *new]

    # Leads ------------------------------------------------------------------------------------

    def _leads(
        self,
        count: int,
        definition: LeadDefinition,
        users: dict[str, User],
        reps: dict[str, Rep],
        sources: dict[str, Source],
        campaigns: dict[str, Campaign],
        accounts: Sequence[Account],
    ) -> list[_LeadPlan]:
        self.fake.seed_instance(self.seed + 1)
        # What an earlier run left is not repeated: record ids are unique per source, e-mails ought to be.
        self.records_taken = set(
            SourceRecord.objects.filter(source__slug__in=DEMO_SOURCE_SLUGS).values_list("source__slug", "external_id")
        )
        self.emails = set(Lead.objects.filter(source__slug__in=DEMO_SOURCE_SLUGS).values_list("email", flat=True))
        rules = definition.rules
        plans = [self._lead_plan(rules, definition, sources, campaigns, accounts) for _ in range(count)]
        plans.sort(key=lambda plan: plan.created_at)  # routed in the order they arrived
        seats = _Seats(reps, self.rng)
        for plan in plans:
            self._lifecycle(plan, rules, definition.mql_threshold, seats, users)
        self._write(plans)
        return plans

    def _lead_plan(
        self,
        rules: dict[str, Any],
        definition: LeadDefinition,
        sources: dict[str, Source],
        campaigns: dict[str, Campaign],
        accounts: Sequence[Account],
    ) -> _LeadPlan:
        rng, fake = self.rng, self.fake
        source_spec = rng.choices(SOURCES, weights=[spec.weight for spec in SOURCES])[0]
        source = sources[source_spec.slug]
        created_at = self._created_at(source_spec)
        intent = rng.choices(INTENTS, weights=source_spec.intent)[0]
        junk = rng.choices(("", "competitor", "personal", "student", "test"), weights=(935, 20, 20, 15, 10))[0]

        account: Account | None = None
        if junk == "competitor":
            domain = rng.choice(list(COMPETITORS))
            company, industry, employees, country = COMPETITORS[domain], "software", rng.randint(200, 900), "US"
            place = _place(rng, fake, country)
        elif junk != "test" and accounts and rng.random() < 0.55:
            account = rng.choice(accounts)
            company, domain, industry, employees, country = (
                account.name,
                account.domain,
                account.industry,
                account.employees,
                account.country,
            )
            place = _place(rng, fake, country, account.state)
        else:
            country = _weighted(rng, COUNTRY_WEIGHTS)
            industry = _weighted(rng, INDUSTRY_WEIGHTS)
            place = _place(rng, fake, country)
            company, domain = _company(rng, fake, country, industry, place.city)
            employees = _employees(rng)

        first_name, last_name = _person_name(fake, country)
        title = rng.choice(STUDENT_TITLES) if junk == "student" else _weighted(rng, TITLES)
        seniority, job_function = classify_title(title)
        if junk == "personal":
            email_domain = rng.choice(PERSONAL_DOMAINS)
        elif junk == "student":
            email_domain = f"student.uni-{_ascii(place.city)}.edu"
        else:
            email_domain = domain
        email = self._email(first_name, last_name, email_domain)
        phone = _phone(rng, country, place.state) if rng.random() < 0.75 else ""
        if junk == "test":
            first_name, last_name, title, seniority, job_function, phone = "Test", "Test", "", "", "", ""
            company, domain, industry, employees = "Test", "", "", None
            email = self._unique_email("test", "example.com")

        campaign = self._campaign(source_spec, campaigns, created_at)
        extra: dict[str, Any] = {}
        if campaign is not None and source_spec.kind == Source.Kind.WEB_FORM:
            extra = {
                "utm_source": rng.choice(("google", "linkedin")),
                "utm_medium": "cpc",
                "utm_campaign": campaign.slug,
            }
        lead = Lead(
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            title=title,
            seniority=seniority,
            job_function=job_function,
            company=company,
            company_domain=domain,
            website=f"https://www.{domain}" if domain else "",
            industry=industry,
            employees=employees,
            street=place.street,
            city=place.city,
            state=place.state,
            postal_code=place.postal_code,
            country=country,
            source=source,
            campaign=campaign,
            account=account,
            pipeline_state=Lead.PipelineState.ROUTED,
            definition=definition,
            scored_at=self.now,
            extra=extra,
        )
        verdict = screen_lead({name: getattr(lead, name) for name in SCREENED_FIELDS}, rules.get("screening", {}))
        activities = self._activities(lead, source_spec, created_at, intent, test_entry=junk == "test")
        result = score_lead(self._facts(lead, activities), rules, self.now)
        lead.score, lead.fit_score, lead.engagement_score = result.total, result.fit, result.engagement
        lead.score_breakdown = result.breakdown()
        lead.last_activity_at = max((a.occurred_at for a in activities), default=None)
        external_id = self._external_id(source_spec)
        payload = {name: getattr(lead, name) for name in PAYLOAD_FIELDS if getattr(lead, name) not in (None, "")}
        payload.update(extra)
        if external_id:
            payload["external_id"] = external_id
        junk_reason = verdict.reason[:200] if verdict else ""
        return _LeadPlan(lead, created_at, activities, external_id, junk_reason, payload)

    @staticmethod
    def _facts(lead: Lead, activities: Sequence[Activity]) -> LeadFacts:
        """What ``scoring.services.lead_facts`` reads for a saved lead, without a query for its activities."""
        return LeadFacts(
            fields=lead_fields(lead=lead),
            activities=[ActivityFact(a.kind, a.occurred_at) for a in activities if a.kind in ENGAGEMENT_KINDS],
        )

    def _external_id(self, source: SourceSpec) -> str | None:
        """The row id in the source system, numbered per source; never one a record already has."""
        if not source.external_id:
            return None
        while True:
            self.record_numbers[source.slug] += 1
            external_id = source.external_id.format(n=self.record_numbers[source.slug])
            if (source.slug, external_id) not in self.records_taken:
                self.records_taken.add((source.slug, external_id))
                return external_id

    def _created_at(self, source: SourceSpec) -> datetime:
        rng = self.rng
        if source.kind == Source.Kind.EVENT:  # the booth's badge scans, imported the day after the show
            return self.now - timedelta(days=37, minutes=rng.randint(0, 240))
        if source.kind == Source.Kind.LIST_IMPORT:
            return self.now - timedelta(days=21, minutes=rng.randint(0, 30))
        days = rng.uniform(0, 3) if rng.random() < 0.15 else rng.uniform(3, 60)
        return self.now - timedelta(days=days)

    def _campaign(self, source: SourceSpec, campaigns: dict[str, Campaign], at: datetime) -> Campaign | None:
        day = timezone.localdate(at)
        options = [spec.slug for spec in CAMPAIGNS if spec.source == source.slug]
        if source.kind in (Source.Kind.EVENT, Source.Kind.LIST_IMPORT, Source.Kind.PARTNER):
            return campaigns[options[0]] if options else None
        running = [
            campaigns[slug]
            for slug in options
            if campaigns[slug].starts_on <= day and (campaigns[slug].ends_on is None or day <= campaigns[slug].ends_on)
        ]
        return self.rng.choice(running) if running and self.rng.random() < 0.8 else None

    def _email(self, first: str, last: str, domain: str) -> str:
        first, last = _ascii(first) or "info", _ascii(last) or "contact"
        local = self.rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}"))
        return self._unique_email(local, domain)

    def _unique_email(self, local: str, domain: str) -> str:
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _activities(
        self, lead: Lead, source: SourceSpec, created_at: datetime, intent: str, *, test_entry: bool
    ) -> list[Activity]:
        rng = self.rng
        activities: list[Activity] = []

        def add(kind: str, at: datetime, subject: str, url: str = "") -> None:
            activities.append(Activity(lead=lead, kind=kind, occurred_at=at, subject=subject, url=url))

        if source.kind == Source.Kind.WEB_FORM:
            add(Activity.Kind.FORM_FILL, created_at, f"Form: {rng.choice(FORMS)}", "/demo")
        elif source.slug == "webinar-platform":
            add(Activity.Kind.FORM_FILL, created_at, "Registered: lead scoring sales trusts", "/webinars/scoring")
            attended = created_at + timedelta(days=rng.uniform(1, 7))
            if attended < self.now and rng.random() < 0.75:
                add(Activity.Kind.WEBINAR, attended, "Attended: lead scoring sales trusts")
        elif source.kind == Source.Kind.EVENT:
            add(Activity.Kind.NOTE, created_at, "Badge scanned at the SaaStr Europe booth")
        elif source.kind == Source.Kind.PARTNER:
            add(Activity.Kind.NOTE, created_at, "Referred by Northwind Consulting")
        if test_entry:
            return activities
        span = (self.now - created_at).total_seconds()
        for kind, (low, high) in ENGAGEMENT[intent].items():
            for _ in range(rng.randint(low, high)):
                share = max(rng.random(), rng.random()) if intent == "hot" else rng.random()  # hot: mostly recent
                at = created_at + timedelta(seconds=span * share)
                if kind == Activity.Kind.PAGE_VISIT:
                    page = rng.choice(PAGES)
                    add(kind, at, f"Visited {page}", page)
                elif kind == Activity.Kind.PRICING_VISIT:
                    add(kind, at, "Visited /pricing", "/pricing")
                elif kind == Activity.Kind.EMAIL_OPEN:
                    add(kind, at, f"Opened: {rng.choice(EMAILS)}")
                elif kind == Activity.Kind.EMAIL_CLICK:
                    add(kind, at, f"Clicked: {rng.choice(EMAILS)}")
                elif kind == Activity.Kind.CONTENT_DOWNLOAD:
                    add(kind, at, f"Downloaded: {rng.choice(DOWNLOADS)}", "/resources")
                else:
                    add(kind, at, "Attended: lead scoring sales trusts")
        return activities

    def _lifecycle(
        self, plan: _LeadPlan, rules: dict[str, Any], threshold: int, seats: _Seats, users: dict[str, User]
    ) -> None:
        """Stage, owner and history, as the pipeline and the reps would have left them."""
        rng, now, lead, created = self.rng, self.now, plan.lead, plan.created_at
        score = lead.score
        if plan.junk_reason:
            lead.junk_reason = plan.junk_reason
            plan.moves.append(_Move(Stage.JUNK, created + timedelta(minutes=1), None, f"Screening: {plan.junk_reason}"))
        elif score < threshold:
            if now - created > timedelta(days=7) and rng.random() < 0.25:
                at = created + timedelta(days=rng.uniform(1, 5))
                reason = f"Not sales-ready yet (score {score}); into the nurture track"
                plan.moves.append(_Move(Stage.NURTURE, at, users["mara"], reason))
        else:
            self._qualified(plan, rules, threshold, seats)
        lead.stage = plan.moves[-1].to_stage if plan.moves else Stage.NEW
        lead.stage_changed_at = plan.moves[-1].at if plan.moves else created

    def _qualified(self, plan: _LeadPlan, rules: dict[str, Any], threshold: int, seats: _Seats) -> None:
        rng, now, lead = self.rng, self.now, plan.lead
        sla = rules.get("sla", {})
        hot = lead.score >= int(sla.get("hot_score", 80))
        sla_hours = int(sla.get("hot_accept_hours" if hot else "accept_hours", 24))
        if now - plan.created_at < timedelta(days=3):
            outcome = _weighted(rng, {"owned": 55, "sal": 20, "claimable": 25})
        else:
            outcomes = {"sal": 18, "sql": 16, "opportunity": 14, "won": 10, "lost": 10, "rejected": 10, "claimable": 12}
            outcome = _weighted(rng, outcomes)
        soon_after_arrival = plan.created_at + min(timedelta(minutes=rng.randint(1, 240)), (now - plan.created_at) / 2)
        if outcome == "owned":  # qualified lately (a recent visit tipped it): some still in their SLA, some past it
            mql_at = max(soon_after_arrival, now - timedelta(hours=sla_hours * rng.uniform(0.1, 2)))
        else:
            mql_at = soon_after_arrival
        reason = f"Score {lead.score} reached the MQL threshold {threshold} (definition v{lead.definition.version})"
        plan.moves.append(_Move(Stage.MQL, mql_at, None, reason))
        if outcome in ("sql", "opportunity"):
            # Enough deals for the revenue reports: some SQLs convert, some opportunities close.
            roll = self.deal_rng.random()
            if outcome == "sql" and roll < 0.4:
                outcome = "opportunity"
            elif outcome == "opportunity" and roll < 0.6:
                outcome = "won" if roll < 0.35 else "lost"
        if outcome == "claimable":
            return
        assigned_at = min(mql_at + timedelta(minutes=rng.randint(2, 45)), now)
        owner = lead.account.owner if lead.account is not None else None
        rep = seats.take(
            account_owner=owner.username if owner is not None else None,
            territory=_territory_for(lead.country, lead.state),
            score=lead.score,
            day=timezone.localdate(assigned_at),
            stays_open=outcome in ("owned", "sal", "sql", "opportunity"),
        )
        if rep is None:  # nobody with room: it waits, claimable, in the overflow queue
            return
        lead.owner, lead.assigned_at = rep.user, assigned_at
        plan.activities.append(
            Activity(
                lead=lead,
                kind=Activity.Kind.SYSTEM,
                occurred_at=assigned_at,
                subject=f"Assigned to {rep.user.username}" + (" (account owner)" if owner == rep.user else ""),
            )
        )
        if outcome == "owned":
            lead.sla_due_at = assigned_at + timedelta(hours=sla_hours)
            return
        if outcome == "rejected":
            path = [Stage.NURTURE]
        elif outcome == "lost":
            worked = [Stage.SAL, Stage.SQL, Stage.OPPORTUNITY][: rng.randint(1, 3 if lead.account else 2)]
            if self.deal_rng.random() < 0.6:  # most losses are lost deals
                worked = [Stage.SAL, Stage.SQL, Stage.OPPORTUNITY]
            path = [*worked, Stage.LOST]
        else:
            path = [Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON][
                : ("sal", "sql", "opportunity", "won").index(outcome) + 1
            ]
        # The first move comes within the working day; the rest spread out until now.
        first = assigned_at + min(timedelta(hours=rng.uniform(0.3, 20)), (now - assigned_at) / 4)
        rest = sorted(first + (now - first) * rng.uniform(0.05, 0.95) for _ in path[1:])
        reasons = {
            Stage.SAL: "Accepted",
            Stage.SQL: "Qualified: need, budget and timeline confirmed",
            Stage.OPPORTUNITY: "Opportunity created",
            Stage.WON: "Closed won",
            Stage.LOST: rng.choice(LOST_REASONS),
            Stage.NURTURE: f"Rejected: {rng.choice(REJECT_REASONS)}",
        }
        codes: dict[str, Reason | None] = {}
        if Stage.LOST in path and self.reasons.get(Reason.Kind.LOST):
            codes[Stage.LOST] = self.deal_rng.choice(self.reasons[Reason.Kind.LOST])
        recycle = outcome == "rejected" and self.reasons.get(Reason.Kind.RECYCLED) and self.deal_rng.random() < 0.75
        if recycle:  # back to marketing with a date to look again: some of them due by now
            codes[Stage.NURTURE] = self.deal_rng.choice(self.reasons[Reason.Kind.RECYCLED])
            reasons[Stage.NURTURE] = "Recycled: check back when the budget is set"
            lead.revisit_on = timezone.localdate(now) + timedelta(days=self.deal_rng.randint(-10, 60))
        for stage, at in zip(path, [first, *rest], strict=True):
            plan.moves.append(_Move(stage, at, rep.user, reasons[stage], codes.get(stage)))
        if Stage.SAL in path:
            lead.accepted_at = first
        if outcome == "rejected":  # back to marketing
            lead.owner = lead.assigned_at = None
        if Stage.OPPORTUNITY in path:
            self._deal(plan, path, [first, *rest], rep.user, codes.get(Stage.LOST))
        if outcome == "won" or Stage.OPPORTUNITY in path:
            plan.contact = Contact(
                account=lead.account,
                first_name=lead.first_name,
                last_name=lead.last_name,
                email=lead.email,
                phone=lead.phone,
                title=lead.title,
            )
            lead.contact = plan.contact

    def _deal(self, plan: _LeadPlan, path: list[str], times: list[datetime], owner: User, lost: Reason | None) -> None:
        """The opportunity a converted lead became: an amount for the company's size, won or lost or still open."""
        rng, lead = self.deal_rng, plan.lead
        if lead.account is None:  # converting makes the account from the lead's company, as lead_convert does
            domain = lead.company_domain or f"{lead.pk or id(lead)}.demo.invalid"
            lead.account = self.new_accounts.get(domain) or Account(
                name=lead.company or domain,
                domain=domain,
                industry=lead.industry,
                employees=lead.employees,
                country=lead.country,
                state=lead.state,
                postal_code=lead.postal_code,
                owner=owner,
            )
            self.new_accounts[domain] = lead.account
        opened = times[path.index(Stage.OPPORTUNITY)]
        employees = lead.employees or 50
        low, high = (3_000, 15_000) if employees < 100 else (12_000, 60_000) if employees < 1000 else (40_000, 250_000)
        amount = Decimal(round(rng.uniform(low, high), -2))
        outcome, closed_on = Opportunity.Stage.OPEN, None
        if path[-1] in (Stage.WON, Stage.LOST):
            outcome = Opportunity.Stage.WON if path[-1] == Stage.WON else Opportunity.Stage.LOST
            closed_on = timezone.localdate(times[-1])
        plan.opportunity_at = opened
        plan.opportunity = Opportunity(
            lead=lead,
            account=lead.account,
            owner=owner,
            source=lead.source,
            campaign=lead.campaign,
            name=f"{lead.account.name}: {rng.choice(DEAL_NAMES)}",
            amount=amount,
            expected_close_on=timezone.localdate(opened) + timedelta(days=rng.randint(30, 75)),
            stage=outcome,
            closed_on=closed_on,
            lost_reason=lost if outcome == Opportunity.Stage.LOST else None,
        )
        lead.converted_at = opened

    def _write(self, plans: list[_LeadPlan]) -> None:
        """Everything in a handful of bulk statements, whatever the number of leads."""
        existing = {account.domain: account for account in Account.objects.filter(domain__in=list(self.new_accounts))}
        Account.objects.bulk_create([a for domain, a in self.new_accounts.items() if domain not in existing])
        for plan in plans:
            if plan.lead.account is not None and plan.lead.account.pk is None:  # another run made that domain
                plan.lead.account = existing[plan.lead.account.domain]
            if plan.contact is not None:
                plan.contact.account = plan.lead.account
            if plan.opportunity is not None:
                plan.opportunity.account = plan.lead.account
        Contact.objects.bulk_create([plan.contact for plan in plans if plan.contact is not None])
        leads = [plan.lead for plan in plans]
        Lead.objects.bulk_create(leads, batch_size=500)
        for plan in plans:  # created_at/updated_at are set on insert; backdate them to the story
            plan.lead.created_at = plan.created_at
            plan.lead.updated_at = max(
                [plan.created_at, *(move.at for move in plan.moves), *(a.occurred_at for a in plan.activities)]
            )
        bulk_update_rows(leads, ["created_at", "updated_at"])
        deals = [plan for plan in plans if plan.opportunity is not None]
        for plan in deals:
            plan.opportunity.contact = plan.contact
        Opportunity.objects.bulk_create([plan.opportunity for plan in deals], batch_size=500)
        for plan in deals:
            plan.opportunity.created_at = plan.opportunity_at
            plan.opportunity.updated_at = max(move.at for move in plan.moves)
        bulk_update_rows([plan.opportunity for plan in deals], ["created_at", "updated_at"])
        Activity.objects.bulk_create([a for plan in plans for a in plan.activities], batch_size=1000)
        submissions = [
            Submission(
                source=plan.lead.source,
                lead=plan.lead,
                payload=plan.payload,
                meta={"via": SUBMISSION_VIA[plan.lead.source.kind], "demo": True},
            )
            for plan in plans
        ]
        Submission.objects.bulk_create(submissions, batch_size=1000)
        for submission, plan in zip(submissions, plans, strict=True):
            submission.received_at = plan.created_at
        bulk_update_rows(submissions, ["received_at"])
        SourceRecord.objects.bulk_create(
            [
                SourceRecord(lead=plan.lead, source=plan.lead.source, external_id=plan.external_id)
                for plan in plans
                if plan.external_id
            ],
            batch_size=1000,
        )
        lead_type = ContentType.objects.get_for_model(Lead)
        changes: list[StageChange] = []
        events: list[AuditEvent] = []
        times: list[datetime] = []
        for plan in plans:
            from_stage = Stage.NEW
            for move in plan.moves:
                if move.to_stage not in STAGE_TRANSITIONS[from_stage]:
                    raise AssertionError(f"demo data would make an illegal move {from_stage} -> {move.to_stage}")
                changes.append(
                    StageChange(
                        lead=plan.lead,
                        from_stage=from_stage,
                        to_stage=move.to_stage,
                        actor=move.actor,
                        reason=move.reason,
                        reason_code=move.reason_code,
                    )
                )
                events.append(
                    AuditEvent(
                        actor=move.actor,
                        action="lead.stage_change",
                        content_type=lead_type,
                        object_id=str(plan.lead.pk),
                        object_repr=str(plan.lead)[:200],
                        changes={"stage": [from_stage, move.to_stage], "reason": move.reason},
                    )
                )
                times.append(move.at)
                from_stage = move.to_stage
        StageChange.objects.bulk_create(changes, batch_size=1000)
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        for change, event, at in zip(changes, events, times, strict=True):
            change.created_at = event.created_at = at
        bulk_update_rows(changes, ["created_at"])
        bulk_update_rows(events, ["created_at"])
