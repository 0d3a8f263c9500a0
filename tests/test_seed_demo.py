"""``manage.py seed_demo``: the demo data every role logs in to, built once and reproducibly."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from leads.demo import DEMO_PASSWORD, DEMO_SOURCE_SLUGS, WEB_FORM_SLUG, demo_account_domains
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
from leads.roles import user_roles
from routing.models import Rep, Territory, TerritoryMembership
from scoring.defaults import DEFAULT_RULES
from scoring.services import lead_score
from tests.factories import LeadDefinitionFactory, LeadFactory

pytestmark = pytest.mark.django_db

LEADS = 200
POST_MQL = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST)
MODELS = (
    get_user_model(),
    LeadDefinition,
    Territory,
    TerritoryMembership,
    Rep,
    Source,
    Campaign,
    Account,
    Contact,
    Lead,
    Activity,
    SourceRecord,
    StageChange,
    AuditEvent,
    Submission,
)


def seed(*args: str, **options: object) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded() -> str:
    return seed(leads=LEADS)


def demo_accounts_made_on_conversion() -> int:
    """Accounts the demo made by converting a lead that had none (the 40 target accounts come from specs)."""
    targets = demo_account_domains()
    return Account.objects.exclude(domain__in=targets).count()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_creates_a_login_for_every_role(seeded):
    users = {user.username: user for user in get_user_model().objects.all()}

    assert {name: user_roles(user) for name, user in users.items()} == {
        "mara": {"marketing"},
        "rick": {"sales"},
        "sara": {"sales"},
        "tom": {"sales"},
        "ada": {"admin", "marketing"},
        "sam": {"admin", "sales"},
    }
    assert users["ada"].is_superuser
    assert users["ada"].is_staff
    assert not any(user.is_staff for name, user in users.items() if name != "ada")
    assert users["sam"].check_password(DEMO_PASSWORD)


def test_prints_every_login_with_its_role_and_the_password(seeded):
    assert f"password: {DEMO_PASSWORD}" in seeded
    for username, roles in [
        ("mara", "marketing"),
        ("rick", "sales"),
        ("ada", "admin, marketing"),
        ("sam", "admin, sales"),
    ]:
        assert re.search(rf"^\s+{username}\s+{roles}", seeded, re.M)


def test_prints_the_web_form_key_once_and_stores_only_its_hash(seeded):
    [key] = re.findall(r"lf_[\w-]{20,}", seeded)
    source = Source.objects.get(slug=WEB_FORM_SLUG)

    assert source.api_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert Source.objects.filter(slug__in=DEMO_SOURCE_SLUGS).exclude(api_key_hash="").count() == 5


def test_publishes_version_1_of_the_default_definition(seeded):
    definition = LeadDefinition.objects.get()

    assert (definition.version, definition.status) == (1, LeadDefinition.Status.PUBLISHED)
    assert definition.rules == DEFAULT_RULES
    assert definition.published_at is not None
    assert definition.author.username == definition.published_by.username == "ada"
    assert definition.note


def test_scores_every_lead_with_a_breakdown_that_adds_up(seeded):
    definition = LeadDefinition.objects.get()
    leads = list(Lead.objects.all())

    assert len(leads) == LEADS
    for lead in leads:
        assert lead.scored_at is not None
        assert lead.definition_id == definition.pk
        assert sum(line["points"] for line in lead.score_breakdown) == lead.score
        assert lead.fit_score + lead.engagement_score == lead.score
        assert lead.pipeline_state == Lead.PipelineState.ROUTED


def test_seeded_scores_are_what_the_scoring_service_computes(seeded):
    for lead in Lead.objects.select_related("source", "account"):
        stored_score, stored_breakdown = lead.score, lead.score_breakdown

        result = lead_score(lead=lead, at=lead.scored_at)

        assert (result.total, result.breakdown()) == (stored_score, stored_breakdown), lead.email


def test_stages_make_sense_for_the_scores(seeded):
    threshold = LeadDefinition.objects.get().mql_threshold
    stages = Counter(Lead.objects.values_list("stage", flat=True))

    assert not Lead.objects.filter(stage__in=POST_MQL, score__lt=threshold).exists()
    assert not Lead.objects.filter(stage=Stage.NEW, score__gte=threshold).exists()
    assert stages[Stage.NEW] > LEADS / 3  # most are new
    assert all(stages[stage] for stage in (Stage.JUNK, Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL))


def test_junk_leads_say_why(seeded):
    junk = Lead.objects.filter(stage=Stage.JUNK)

    assert junk.exists()
    assert not junk.filter(junk_reason="").exists()
    assert junk.filter(junk_reason__startswith="Competitor domain").exists()
    assert junk.filter(junk_reason__startswith="Free e-mail address").exists()
    for lead in junk:
        [change] = lead.stage_changes.all()
        assert (change.from_stage, change.actor, change.reason) == (Stage.NEW, None, f"Screening: {lead.junk_reason}")


def test_history_only_makes_legal_moves_ending_at_the_current_stage(seeded):
    moves: dict[int, list[StageChange]] = {}
    for change in StageChange.objects.order_by("created_at", "id"):
        moves.setdefault(change.lead_id, []).append(change)

    for lead in Lead.objects.all():
        history = moves.get(lead.pk, [])
        stage = Stage.NEW
        for change in history:
            assert change.from_stage == stage
            assert change.to_stage in STAGE_TRANSITIONS[stage]
            stage = change.to_stage
        assert stage == lead.stage
        assert all(lead.created_at <= change.created_at <= lead.updated_at for change in history)


def test_reps_move_the_leads_they_own(seeded):
    worked = Lead.objects.filter(stage__in=[Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST])

    assert worked.exists()
    for lead in worked:
        assert lead.owner is not None
        assert lead.accepted_at is not None
        assert {change.actor for change in lead.stage_changes.exclude(to_stage=Stage.MQL)} == {lead.owner}
    assert AuditEvent.objects.filter(action="lead.stage_change").count() == StageChange.objects.count()


def test_some_mqls_are_owned_with_an_sla_some_overdue_and_some_claimable(seeded):
    mqls = Lead.objects.filter(stage=Stage.MQL)
    owned = mqls.filter(owner__isnull=False)

    assert not owned.filter(Q(sla_due_at__isnull=True) | Q(assigned_at__isnull=True)).exists()
    assert owned.filter(sla_due_at__lt=Lead.objects.latest("scored_at").scored_at).exists()
    assert mqls.filter(owner__isnull=True, sla_due_at__isnull=True).exists()


def reps_over_capacity() -> list[str]:
    reps = Rep.objects.select_related("user").annotate(
        open_leads=Count("user__owned_leads", filter=Q(user__owned_leads__stage__in=OPEN_STAGES))
    )
    return [rep.user.username for rep in reps if rep.open_leads > rep.max_open_leads]


def test_reps_have_capacities_territories_and_are_never_over_capacity(seeded):
    reps = Rep.objects.select_related("user")

    assert {rep.user.username for rep in reps} == {"rick", "sara", "tom", "sam"}
    for rep in reps:
        assert rep.max_open_leads > 0
        assert rep.max_new_per_day > 0
        assert rep.memberships.exists()
    assert reps_over_capacity() == []
    assert reps.get(user__username="sam").min_score > 0
    assert Territory.objects.count() == 4
    assert not Territory.objects.filter(manager__isnull=True).exists()
    assert TerritoryMembership.objects.filter(weight__gt=1).exists()


def test_a_rep_at_capacity_gets_no_more_demo_leads(seeded):
    seed("--reset", leads=2000)

    assert reps_over_capacity() == []
    assert Lead.objects.filter(stage=Stage.MQL, owner__isnull=True).exists()  # the overflow waits, claimable


def test_reference_data_is_there(seeded):
    assert Source.objects.count() == 5
    assert Campaign.objects.count() == 6
    assert not Campaign.objects.filter(cost__lte=0).exists()
    # The 40 target accounts, and one for each converted lead that had none (as converting makes it).
    targets = demo_account_domains()
    assert Account.objects.filter(domain__in=targets).count() == 40
    assert not Account.objects.exclude(domain__in=targets).filter(opportunities__isnull=True).exists()
    assert Account.objects.filter(owner__isnull=False).exists()
    assert not Account.objects.filter(domain="").exists()


def test_leads_look_real(seeded):
    leads = Lead.objects.all()
    scored_at = leads.latest("scored_at").scored_at

    assert all(re.fullmatch(r"[a-z0-9.+-]+@[a-z0-9.-]+\.[a-z]+", lead.email) for lead in leads)
    assert all(re.fullmatch(r"\+[1-9]\d{7,14}", lead.phone) for lead in leads.exclude(phone=""))
    assert leads.filter(email__endswith="@gmail.com").exists()
    assert leads.exclude(seniority="").count() > LEADS * 0.9
    assert leads.filter(account__isnull=False).exists()
    business = leads.filter(stage=Stage.NEW, account__isnull=False)
    assert all(lead.email.endswith("@" + lead.company_domain) for lead in business)
    assert not Activity.objects.filter(occurred_at__lt=scored_at - timedelta(days=61)).exists()
    assert not Activity.objects.filter(occurred_at__gt=scored_at).exists()
    kinds = set(Activity.objects.values_list("kind", flat=True))
    assert {"page_visit", "pricing_visit", "webinar", "form_fill", "email_click"} <= kinds


def test_imported_leads_keep_their_source_record_ids(seeded):
    imported = Lead.objects.exclude(source__slug=WEB_FORM_SLUG)

    assert SourceRecord.objects.count() == imported.count() > 0
    assert not SourceRecord.objects.filter(lead__source__slug=WEB_FORM_SLUG).exists()
    assert all(record.source_id == record.lead.source_id for record in SourceRecord.objects.select_related("lead"))


def test_every_lead_keeps_the_raw_submission_it_came_from(seeded):
    submissions = {submission.lead_id: submission for submission in Submission.objects.all()}

    assert len(submissions) == LEADS
    for lead in Lead.objects.all():
        submission = submissions[lead.pk]
        assert submission.source_id == lead.source_id
        assert submission.payload["email"] == lead.email
        assert submission.received_at == lead.created_at
        assert ("external_id" in submission.payload) == (lead.source.slug != WEB_FORM_SLUG)


def test_a_second_run_creates_nothing_and_says_so(seeded):
    before = counts()

    output = seed(leads=LEADS)

    assert counts() == before
    assert "already there" in output
    assert "lf_" not in output
    assert "mara" in output


def test_a_partly_deleted_demo_is_completed_not_duplicated(seeded):
    Submission.objects.filter(source__slug=WEB_FORM_SLUG).delete()
    Opportunity.objects.filter(source__slug=WEB_FORM_SLUG).delete()  # they protect their leads
    Lead.objects.filter(source__slug=WEB_FORM_SLUG).delete()
    Source.objects.filter(slug=WEB_FORM_SLUG).delete()
    before = counts()

    output = seed(leads=40)

    assert re.search(r"lf_[\w-]{20,}", output)
    after = counts()
    assert after["Source"] == 5
    for model in ("User", "Territory", "Rep", "TerritoryMembership", "Campaign", "LeadDefinition"):
        assert after[model] == before[model], model
    assert after["Account"] - demo_accounts_made_on_conversion() <= before["Account"]
    assert after["Lead"] == before["Lead"] + 40
    assert reps_over_capacity() == []


def test_reset_rebuilds_the_same_demo_with_a_new_key(seeded):
    emails = set(Lead.objects.values_list("email", flat=True))
    old_hash = Source.objects.get(slug=WEB_FORM_SLUG).api_key_hash

    seed("--reset", leads=LEADS)

    assert set(Lead.objects.values_list("email", flat=True)) == emails
    assert get_user_model().objects.count() == 6
    assert Source.objects.count() == 5
    assert LeadDefinition.objects.get().version == 1
    assert Source.objects.get(slug=WEB_FORM_SLUG).api_key_hash != old_hash


def test_reset_also_clears_what_was_added_to_the_demo_sources_since(seeded):
    source = Source.objects.get(slug="purchased-list")
    ImportJob.objects.create(source=source, file="imports/more.csv", file_name="more.csv")
    Submission.objects.create(source=source, payload={"email": "late@example.org"})
    LeadFactory(source=source, email="added@by-hand.example")
    outsider = LeadFactory(email="keep@elsewhere.example")

    seed("--reset", leads=LEADS)

    assert not ImportJob.objects.exists()
    assert not Lead.objects.filter(email="added@by-hand.example").exists()
    assert Lead.objects.filter(pk=outsider.pk).exists()
    assert Lead.objects.count() == LEADS + 1


def test_reset_can_change_the_number_of_leads(seeded):
    seed("--reset", "--leads", "25")

    assert Lead.objects.count() == 25
    assert Account.objects.count() == 40 + demo_accounts_made_on_conversion()


def test_zero_leads_gives_just_the_cast():
    seed(leads=0)

    assert Lead.objects.count() == 0
    assert get_user_model().objects.count() == 6
    assert Rep.objects.count() == 4


def test_a_negative_number_of_leads_is_refused():
    with pytest.raises(CommandError, match="leads"):
        seed("--leads", "-1")

    assert not Source.objects.exists()


def test_an_already_published_definition_is_used_rather_than_a_second_one():
    existing = LeadDefinitionFactory(version=4)

    seed(leads=10)

    assert LeadDefinition.objects.get() == existing
    assert set(Lead.objects.values_list("definition", flat=True)) == {existing.pk}


def test_converted_leads_have_opportunities_some_won_some_lost_with_amounts(seeded):
    opportunities = Opportunity.objects.select_related("lead", "lost_reason")
    by_stage = Counter(opportunity.stage for opportunity in opportunities)

    assert by_stage["won"]
    assert by_stage["lost"]
    assert by_stage["open"]
    for opportunity in opportunities:
        lead = opportunity.lead
        assert opportunity.amount > 0
        assert (opportunity.source_id, opportunity.campaign_id, opportunity.account_id) == (
            lead.source_id,
            lead.campaign_id,
            lead.account_id,
        )
        assert lead.converted_at is not None
        assert lead.contact_id == opportunity.contact_id
        expected_lead_stage = {"open": Stage.OPPORTUNITY, "won": Stage.WON, "lost": Stage.LOST}[opportunity.stage]
        assert lead.stage == expected_lead_stage
        assert (opportunity.closed_on is None) == (opportunity.stage == "open")
        if opportunity.stage == "lost":
            assert opportunity.lost_reason.kind == Reason.Kind.LOST
    # Every converted lead has its opportunity, and every lost move names a reason from the lost list.
    assert not Lead.objects.filter(stage=Stage.OPPORTUNITY, opportunity__isnull=True).exists()
    assert not StageChange.objects.filter(to_stage=Stage.LOST, reason_code__isnull=True).exists()


def test_some_recycled_leads_wait_for_their_revisit_date(seeded):
    recycled = Lead.objects.filter(stage=Stage.NURTURE, revisit_on__isnull=False)

    assert recycled.exists()
    assert all(
        lead.stage_changes.last().reason_code.kind == "recycled" for lead in recycled.prefetch_related("stage_changes")
    )
    assert not Lead.objects.filter(stage_changed_at__isnull=True).exists()
