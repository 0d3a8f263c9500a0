"""The invariants the database itself keeps for accounts, sources, campaigns, definitions and leads."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from leads.models import (
    STAGE_TRANSITIONS,
    Account,
    Campaign,
    Lead,
    LeadDefinition,
    Opportunity,
    Reason,
    Source,
    SourceRecord,
    Stage,
    StageChange,
)
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    LeadDefinitionFactory,
    LeadFactory,
    OpportunityFactory,
    ReasonFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db


def test_junk_lead_without_a_reason_is_refused():
    with pytest.raises(IntegrityError, match="junk_lead_has_reason"), transaction.atomic():
        LeadFactory(stage=Stage.JUNK, junk_reason="")


def test_junk_lead_with_a_reason_is_stored():
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Competitor domain (rivalcrm.com)")

    assert Lead.objects.get(pk=lead.pk).junk_reason == "Competitor domain (rivalcrm.com)"


def test_a_second_published_definition_is_refused():
    LeadDefinitionFactory(version=1)

    with pytest.raises(IntegrityError, match="one_published_lead_definition"), transaction.atomic():
        LeadDefinitionFactory(version=2)


def test_drafts_and_retired_versions_sit_beside_the_published_one():
    LeadDefinitionFactory(version=1, status=LeadDefinition.Status.RETIRED)
    LeadDefinitionFactory(version=2)
    LeadDefinitionFactory(version=3, status=LeadDefinition.Status.DRAFT, published_at=None)
    LeadDefinitionFactory(version=4, status=LeadDefinition.Status.DRAFT, published_at=None)

    assert LeadDefinition.objects.filter(status=LeadDefinition.Status.PUBLISHED).count() == 1
    assert LeadDefinition.objects.count() == 4


def test_a_published_definition_needs_its_publication_time():
    with pytest.raises(IntegrityError, match="published_definition_has_time"), transaction.atomic():
        LeadDefinitionFactory(published_at=None)


def test_definition_versions_are_unique():
    LeadDefinitionFactory(version=7, status=LeadDefinition.Status.RETIRED)

    with pytest.raises(IntegrityError), transaction.atomic():
        LeadDefinitionFactory(version=7, status=LeadDefinition.Status.DRAFT, published_at=None)


def test_mql_threshold_comes_from_the_rules_with_60_by_default():
    assert LeadDefinitionFactory.build(rules={"thresholds": {"mql": 75}}).mql_threshold == 75
    assert LeadDefinitionFactory.build(rules={}).mql_threshold == 60


def test_merged_lead_must_point_to_its_survivor():
    with pytest.raises(IntegrityError, match="merged_lead_points_to_survivor"), transaction.atomic():
        LeadFactory(status=Lead.Status.MERGED, merged_into=None)


def test_active_lead_cannot_point_to_a_survivor():
    survivor = LeadFactory()

    with pytest.raises(IntegrityError, match="merged_lead_points_to_survivor"), transaction.atomic():
        LeadFactory(status=Lead.Status.ACTIVE, merged_into=survivor)


def test_merged_lead_pointing_to_a_survivor_is_stored():
    survivor = LeadFactory()
    duplicate = LeadFactory(status=Lead.Status.MERGED, merged_into=survivor)

    assert list(survivor.merged_leads.all()) == [duplicate]


def test_lead_cannot_be_merged_into_itself():
    lead = LeadFactory()

    with pytest.raises(IntegrityError, match="lead_not_merged_into_itself"), transaction.atomic():
        Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.MERGED, merged_into=lead)


def test_campaign_cost_cannot_be_negative():
    with pytest.raises(IntegrityError, match="campaign_cost_not_negative"), transaction.atomic():
        CampaignFactory(cost=-1)


def test_campaign_cannot_end_before_it_starts():
    with pytest.raises(IntegrityError, match="campaign_ends_after_start"), transaction.atomic():
        CampaignFactory(starts_on=date(2025, 3, 10), ends_on=date(2025, 3, 9))


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [(date(2025, 3, 10), date(2025, 3, 10)), (date(2025, 3, 10), None), (None, date(2025, 3, 10)), (None, None)],
)
def test_campaign_dates_may_be_open_or_on_one_day(starts_on, ends_on):
    campaign = CampaignFactory(starts_on=starts_on, ends_on=ends_on, cost=0)

    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_a_source_record_feeds_only_one_lead():
    source = SourceFactory()
    SourceRecord.objects.create(lead=LeadFactory(source=source), source=source, external_id="ROW-1")

    with pytest.raises(IntegrityError, match="source_record_unique"), transaction.atomic():
        SourceRecord.objects.create(lead=LeadFactory(source=source), source=source, external_id="ROW-1")


def test_the_same_external_id_may_come_from_two_sources():
    lead = LeadFactory()
    SourceRecord.objects.create(lead=lead, source=SourceFactory(), external_id="ROW-1")
    SourceRecord.objects.create(lead=lead, source=SourceFactory(), external_id="ROW-1")

    assert lead.source_records.count() == 2


def test_account_domain_is_unique():
    AccountFactory(domain="acme.com")

    with pytest.raises(IntegrityError, match="account_domain_unique"), transaction.atomic():
        AccountFactory(domain="acme.com")


def test_accounts_without_a_domain_may_be_many():
    AccountFactory(domain="")
    AccountFactory(domain="")

    assert Account.objects.filter(domain="").count() == 2


def test_new_api_key_is_returned_and_only_its_hash_is_stored():
    source = SourceFactory()

    key = source.set_new_api_key()
    source.save()

    stored = Source.objects.get(pk=source.pk)
    assert key.startswith(Source.KEY_PREFIX)
    assert len(key) > 40
    assert stored.api_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert stored.api_key_prefix == key[:10]
    stored_values = [str(getattr(stored, f.attname)) for f in Source._meta.concrete_fields]
    assert not any(key in value for value in stored_values)


def test_a_new_api_key_replaces_the_old_one():
    source = SourceFactory()
    first = source.set_new_api_key()
    second = source.set_new_api_key()

    assert first != second
    assert source.api_key_hash == Source.hash_api_key(second) != Source.hash_api_key(first)


def test_source_trust_is_at_most_100():
    with pytest.raises(IntegrityError, match="source_trust_0_100"), transaction.atomic():
        SourceFactory(trust=101)


def test_every_stage_has_a_row_in_the_transition_table():
    assert set(STAGE_TRANSITIONS) == set(Stage.values)
    assert all(targets <= set(Stage.values) for targets in STAGE_TRANSITIONS.values())


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [
        (Stage.NEW, Stage.MQL),
        (Stage.NEW, Stage.JUNK),
        (Stage.NEW, Stage.NURTURE),
        (Stage.JUNK, Stage.NEW),
        (Stage.NURTURE, Stage.MQL),
        (Stage.MQL, Stage.SAL),
        (Stage.MQL, Stage.NURTURE),
        (Stage.SAL, Stage.SQL),
        (Stage.SAL, Stage.LOST),
        (Stage.SAL, Stage.JUNK),
        (Stage.SQL, Stage.JUNK),
        (Stage.SQL, Stage.OPPORTUNITY),
        (Stage.OPPORTUNITY, Stage.WON),
        (Stage.OPPORTUNITY, Stage.LOST),
        (Stage.LOST, Stage.NURTURE),
    ],
)
def test_lifecycle_allows_the_move(from_stage, to_stage):
    assert Lead(stage=from_stage).can_move_to(to_stage)


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [
        (Stage.NEW, Stage.SAL),
        (Stage.NEW, Stage.WON),
        (Stage.JUNK, Stage.MQL),
        (Stage.MQL, Stage.WON),
        (Stage.SAL, Stage.MQL),
        (Stage.SQL, Stage.WON),
        (Stage.OPPORTUNITY, Stage.NURTURE),
        (Stage.LOST, Stage.WON),
        (Stage.MQL, Stage.MQL),
    ],
)
def test_lifecycle_refuses_the_move(from_stage, to_stage):
    assert not Lead(stage=from_stage).can_move_to(to_stage)


def test_won_is_the_end_of_the_road():
    assert not any(Lead(stage=Stage.WON).can_move_to(stage) for stage in Stage.values)


def test_every_row_knows_when_it_was_made():
    before = timezone.now()
    lead = LeadFactory()

    assert before <= lead.created_at <= lead.updated_at <= timezone.now()


# Lifecycle: reasons and opportunities (issue #7)


def test_default_reason_lists_are_seeded_in_order():
    lost = list(Reason.objects.filter(kind=Reason.Kind.LOST).values_list("label", flat=True))
    disqualified = set(Reason.objects.filter(kind=Reason.Kind.DISQUALIFIED).values_list("label", flat=True))
    recycled = set(Reason.objects.filter(kind=Reason.Kind.RECYCLED).values_list("label", flat=True))

    assert lost == ["Price", "Competitor", "No budget", "No decision", "Timing", "Went dark"]
    assert disqualified == {"Not a fit", "Competitor", "Student", "Spam", "Bad data", "Duplicate"}
    assert recycled == {"Not ready", "No budget this year", "Timing"}


def test_a_reason_label_is_unique_within_its_list_only():
    ReasonFactory(kind=Reason.Kind.RECYCLED, label="Reorg")
    Reason.objects.create(kind=Reason.Kind.LOST, label="Reorg")

    with pytest.raises(IntegrityError, match="reason_label_unique_per_kind"), transaction.atomic():
        Reason.objects.create(kind=Reason.Kind.RECYCLED, label="Reorg")


def test_a_reason_in_use_cannot_be_deleted():
    reason = Reason.objects.get(kind=Reason.Kind.DISQUALIFIED, label="Spam")
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Spam")
    StageChange.objects.create(lead=lead, from_stage=Stage.NEW, to_stage=Stage.JUNK, reason_code=reason)

    with pytest.raises(ProtectedError):
        reason.delete()


def test_opportunity_amount_cannot_be_negative():
    with pytest.raises(IntegrityError, match="opportunity_amount_not_negative"), transaction.atomic():
        OpportunityFactory(amount=Decimal("-0.01"))


@pytest.mark.parametrize(
    ("stage", "closed"),
    [("open", True), ("won", False), ("lost", False)],
)
def test_opportunity_has_a_close_date_exactly_when_closed(stage, closed):
    closed_on = date(2026, 5, 1) if closed else None

    with pytest.raises(IntegrityError, match="opportunity_closed_on_iff_closed"), transaction.atomic():
        OpportunityFactory(stage=stage, closed_on=closed_on)


def test_only_a_lost_opportunity_carries_a_lost_reason():
    price = Reason.objects.get(kind=Reason.Kind.LOST, label="Price")
    lost = OpportunityFactory(stage="lost", closed_on=date(2026, 5, 1), lost_reason=price)

    with pytest.raises(IntegrityError, match="opportunity_lost_reason_only_when_lost"), transaction.atomic():
        OpportunityFactory(stage="won", closed_on=date(2026, 5, 1), lost_reason=price)
    assert Opportunity.objects.get(pk=lost.pk).lost_reason == price


def test_a_lead_has_at_most_one_opportunity_and_keeps_its_source_and_campaign():
    campaign = CampaignFactory()
    opportunity = OpportunityFactory(lead__campaign=campaign, lead__source=campaign.source)

    assert (opportunity.source, opportunity.campaign) == (campaign.source, campaign)
    assert Lead.objects.get(pk=opportunity.lead_id).opportunity == opportunity
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory(lead=opportunity.lead)


def test_a_lead_with_an_opportunity_cannot_be_deleted():
    opportunity = OpportunityFactory()

    with pytest.raises(ProtectedError):
        opportunity.lead.delete()
