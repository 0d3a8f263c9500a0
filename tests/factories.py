"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from leads.models import (
    Account,
    Activity,
    Campaign,
    Contact,
    Lead,
    LeadDefinition,
    Opportunity,
    Reason,
    Source,
    Stage,
)
from routing.models import Rep, Territory, TerritoryMembership
from scoring.defaults import DEFAULT_RULES

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@leadflow.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Source {n}")
    slug = factory.Sequence(lambda n: f"source-{n}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    source = factory.SubFactory(SourceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    cost = 1000


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Faker("company")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = "software"
    employees = 500
    country = "US"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@company.example")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@acme{n}.example")
    company = factory.Faker("company")
    company_domain = factory.Sequence(lambda n: f"acme{n}.example")
    title = "Head of Operations"
    industry = "software"
    employees = 250
    country = "US"
    source = factory.SubFactory(SourceFactory)
    stage = Stage.NEW
    pipeline_state = Lead.PipelineState.ROUTED


class ReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reason
        django_get_or_create = ("kind", "label")

    kind = Reason.Kind.LOST
    label = factory.Sequence(lambda n: f"Reason {n}")


def listed_reason(kind: str, label: str) -> Reason:
    """One of the seeded reasons (migration 0005), e.g. ``listed_reason("lost", "Price")``."""
    return Reason.objects.get(kind=kind, label=label)


class OpportunityFactory(factory.django.DjangoModelFactory):
    """An open opportunity on a converted lead; source and campaign copied from the lead as conversion does."""

    class Meta:
        model = Opportunity

    lead = factory.SubFactory(LeadFactory, stage=Stage.OPPORTUNITY, converted_at=factory.LazyFunction(timezone.now))
    account = factory.SubFactory(AccountFactory)
    source = factory.LazyAttribute(lambda o: o.lead.source)
    campaign = factory.LazyAttribute(lambda o: o.lead.campaign)
    owner = factory.LazyAttribute(lambda o: o.lead.owner)
    name = factory.LazyAttribute(lambda o: f"{o.account.name} deal")
    amount = 10000
    expected_close_on = factory.LazyFunction(lambda: timezone.localdate())


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    kind = Activity.Kind.PAGE_VISIT
    occurred_at = factory.LazyFunction(timezone.now)
    subject = "Visited /features"


class LeadDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadDefinition

    version = factory.Sequence(lambda n: n + 1)
    status = LeadDefinition.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    rules = factory.LazyFunction(lambda: DEFAULT_RULES)
    note = "Test definition"


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory

    name = factory.Sequence(lambda n: f"Territory {n}")
    slug = factory.Sequence(lambda n: f"territory-{n}")
    countries = factory.LazyFunction(lambda: ["US"])


class RepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rep

    user = factory.SubFactory(UserFactory, roles=["sales"])
    max_open_leads = 25
    max_new_per_day = 10


class TerritoryMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TerritoryMembership

    territory = factory.SubFactory(TerritoryFactory)
    rep = factory.SubFactory(RepFactory)
