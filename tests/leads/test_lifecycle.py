"""The end of the funnel, through the services: recycling, revisits, conversion, won and lost."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.lifecycle import (
    lead_convert,
    leads_revisit_due,
    opportunity_close,
    reason_create,
    reason_update,
    reasons_ensure_defaults,
)
from leads.models import Account, Activity, AuditEvent, Contact, Lead, Opportunity, Reason, SourceRecord, Stage
from leads.services import LeadOperationError, lead_change_stage
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    LeadFactory,
    listed_reason,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def in_days(days: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=days)


# --- Recycle --------------------------------------------------------------------------------------


def test_recycling_hands_the_lead_back_to_marketing_with_a_reason_and_a_date(rep):
    lead = LeadFactory(
        stage=Stage.SQL, owner=rep, assigned_at=timezone.now(), accepted_at=timezone.now(), sla_due_at=timezone.now()
    )
    not_ready = listed_reason("recycled", "Not ready")

    change = lead_change_stage(
        lead=lead, to_stage=Stage.NURTURE, actor=rep, reason_code=not_ready, revisit_on=in_days(90), reason="Q3"
    )

    lead.refresh_from_db()
    assert (lead.stage, lead.revisit_on) == (Stage.NURTURE, in_days(90))
    assert (lead.owner, lead.assigned_at, lead.accepted_at, lead.sla_due_at) == (None, None, None, None)
    assert (change.actor, change.reason_code, change.reason) == (rep, not_ready, "Q3")
    event = AuditEvent.objects.get(action="lead.stage_change", object_id=str(lead.pk))
    assert event.changes["revisit_on"] == in_days(90).isoformat()
    assert event.changes["reason_code"] == [not_ready.pk, "Not ready"]


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"reason_code": ("recycled", "Timing")}, "revisit_on", "needs a date"),
        ({"reason_code": ("recycled", "Timing"), "revisit_on": 0}, "revisit_on", "in the future"),
        ({"reason": "later", "revisit_on": 30}, "revisit_on", "goes with recycling"),
    ],
)
def test_a_recycle_needs_a_recycled_reason_and_a_future_date(rep, kwargs, field, message):
    lead = LeadFactory(stage=Stage.SAL, owner=rep)
    if "reason_code" in kwargs:
        kwargs["reason_code"] = listed_reason(*kwargs["reason_code"])
    if "revisit_on" in kwargs:
        kwargs["revisit_on"] = in_days(kwargs["revisit_on"])

    with pytest.raises(LeadOperationError, match=message) as excinfo:
        lead_change_stage(lead=lead, to_stage=Stage.NURTURE, actor=rep, **kwargs)

    assert excinfo.value.field == field
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SAL


def test_a_lost_lead_can_be_recycled_too(rep):
    lead = LeadFactory(stage=Stage.LOST, owner=rep)

    lead_change_stage(
        lead=lead,
        to_stage=Stage.NURTURE,
        actor=rep,
        reason_code=listed_reason("recycled", "No budget this year"),
        revisit_on=in_days(200),
    )

    assert Lead.objects.get(pk=lead.pk).revisit_on == in_days(200)


def test_leaving_nurture_forgets_the_revisit_date(marketer):
    lead = LeadFactory(stage=Stage.NURTURE, revisit_on=in_days(10))

    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=marketer)

    assert Lead.objects.get(pk=lead.pk).revisit_on is None


def test_every_move_stamps_when_the_lead_entered_its_stage(marketer):
    lead = LeadFactory(stage=Stage.NEW)
    Lead.objects.filter(pk=lead.pk).update(stage_changed_at=timezone.now() - datetime.timedelta(days=3))
    before = timezone.now()

    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=marketer)

    assert lead.stage_changed_at >= before


def test_a_new_lead_counts_as_in_its_stage_since_it_was_made():
    lead = LeadFactory()

    assert abs(lead.stage_changed_at - lead.created_at) < datetime.timedelta(seconds=1)


# --- Revisit --------------------------------------------------------------------------------------


def test_due_recycled_leads_get_one_notice_and_a_rescore_and_later_ones_wait(
    published_definition, django_capture_on_commit_callbacks
):
    due = LeadFactory(stage=Stage.NURTURE, revisit_on=in_days(-1))
    today = LeadFactory(stage=Stage.NURTURE, revisit_on=TODAY())
    later = LeadFactory(stage=Stage.NURTURE, revisit_on=in_days(5))
    plain_nurture = LeadFactory(stage=Stage.NURTURE)

    with django_capture_on_commit_callbacks(execute=True):
        ids = leads_revisit_due()
    again = leads_revisit_due()

    assert sorted(ids) == sorted([due.pk, today.pk])
    assert again == []
    notices = Activity.objects.filter(kind=Activity.Kind.SYSTEM, meta__revisit=True)
    assert sorted(notices.values_list("lead_id", flat=True)) == sorted(ids)
    assert not Activity.objects.filter(lead__in=[later, plain_nurture], meta__revisit=True).exists()
    # Rescored at once (tasks run eagerly in tests): a score and a definition version now.
    for lead in (due, today):
        lead.refresh_from_db()
        assert lead.definition == published_definition


def test_a_lead_recycled_again_comes_due_again(rep):
    lead = LeadFactory(stage=Stage.NURTURE, revisit_on=in_days(-1))
    leads_revisit_due()
    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=None)
    Lead.objects.filter(pk=lead.pk).update(owner=rep)
    lead_change_stage(
        lead=lead,
        to_stage=Stage.NURTURE,
        actor=rep,
        reason_code=listed_reason("recycled", "Timing"),
        revisit_on=in_days(1),
    )

    assert leads_revisit_due(today=in_days(1)) == [lead.pk]


# --- Reason lists ---------------------------------------------------------------------------------


def test_a_new_reason_goes_to_the_end_of_its_list(lf_admin):
    reason = reason_create(kind="lost", label="  Chose  to build in-house ", actor=lf_admin)

    assert reason.label == "Chose to build in-house"
    assert list(Reason.objects.filter(kind="lost"))[-1] == reason
    assert AuditEvent.objects.filter(action="reason.create", object_id=str(reason.pk)).exists()


def test_a_reason_label_cannot_repeat_in_its_list_whatever_the_case(lf_admin):
    with pytest.raises(LeadOperationError, match="already has") as excinfo:
        reason_create(kind="lost", label="price", actor=lf_admin)

    assert excinfo.value.field == "label"


def test_a_deactivated_reason_stays_on_history_but_cannot_be_picked(lf_admin, rep):
    went_dark = listed_reason("lost", "Went dark")
    old = LeadFactory(stage=Stage.SQL, owner=rep)
    lead_change_stage(lead=old, to_stage=Stage.LOST, actor=rep, reason_code=went_dark)

    reason_update(reason=went_dark, data={"is_active": False}, actor=lf_admin)

    assert old.stage_changes.get().reason_code == went_dark
    with pytest.raises(LeadOperationError, match="no longer in use"):
        lead_change_stage(
            lead=LeadFactory(stage=Stage.SQL, owner=rep), to_stage=Stage.LOST, actor=rep, reason_code=went_dark
        )


# --- Conversion -----------------------------------------------------------------------------------


def convert(lead: Lead, actor, **kwargs):
    kwargs.setdefault("amount", "12500")
    kwargs.setdefault("expected_close_on", in_days(30))
    return lead_convert(lead=lead, actor=actor, **kwargs)


def test_converting_makes_contact_account_and_opportunity_and_keeps_the_history(rep, marketer):
    campaign = CampaignFactory()
    lead = LeadFactory(
        stage=Stage.SQL,
        owner=rep,
        source=campaign.source,
        campaign=campaign,
        company="Initech",
        company_domain="initech.example",
        email="peter@initech.example",
        first_name="Peter",
        last_name="Gibbons",
        title="VP Engineering",
    )
    activity = ActivityFactory(lead=lead)
    SourceRecord.objects.create(lead=lead, source=lead.source, external_id="CRM-7")

    result = convert(lead, rep, name="Initech platform", amount="12500.50")

    opportunity = result.opportunity
    assert (result.account_created, result.contact_created) == (True, True)
    account = Account.objects.get(domain="initech.example")
    contact = Contact.objects.get(email="peter@initech.example")
    assert (account.name, contact.account, contact.title) == ("Initech", account, "VP Engineering")
    assert (opportunity.account, opportunity.contact, opportunity.owner) == (account, contact, rep)
    assert (opportunity.source, opportunity.campaign) == (campaign.source, campaign)
    assert (opportunity.name, opportunity.amount, opportunity.stage) == (
        "Initech platform",
        Decimal("12500.50"),
        "open",
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.account, lead.contact) == (Stage.OPPORTUNITY, account, contact)
    assert lead.converted_at is not None
    # History stays on the lead, and the lead is reachable from the opportunity.
    assert opportunity.lead.activities.filter(pk=activity.pk).exists()
    assert list(opportunity.lead.source_records.values_list("external_id", flat=True)) == ["CRM-7"]
    assert list(lead.stage_changes.values_list("from_stage", "to_stage")) == [(Stage.SQL, Stage.OPPORTUNITY)]
    assert Activity.objects.filter(lead=lead, meta__opportunity=opportunity.pk).exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "lead.convert",
        "opportunity.create",
        "account.create",
        "lead.stage_change",
    }


def test_a_sal_is_qualified_on_the_way(rep):
    lead = LeadFactory(stage=Stage.SAL, owner=rep)

    convert(lead, rep)

    assert list(lead.stage_changes.values_list("from_stage", "to_stage")) == [
        (Stage.SAL, Stage.SQL),
        (Stage.SQL, Stage.OPPORTUNITY),
    ]


def test_the_account_with_the_lead_company_domain_is_linked_not_duplicated(rep):
    existing = AccountFactory(name="Globex Corporation", domain="globex.example")
    lead = LeadFactory(stage=Stage.SQL, owner=rep, company="Globex", company_domain="globex.example")

    result = convert(lead, rep)

    assert (result.opportunity.account, result.account_created) == (existing, False)
    assert Account.objects.count() == 1


def test_the_account_with_the_lead_company_name_is_linked_when_there_is_no_domain(rep):
    existing = AccountFactory(name="Umbrella Corp", domain="")
    lead = LeadFactory(stage=Stage.SQL, owner=rep, company="umbrella corp", company_domain="")

    result = convert(lead, rep)

    assert result.opportunity.account == existing


def test_the_contact_with_the_lead_email_at_that_account_is_reused(rep):
    contact = ContactFactory(email="ann@hooli.example", account=AccountFactory(domain="hooli.example"))
    lead = LeadFactory(stage=Stage.SQL, owner=rep, email="ann@hooli.example", company_domain="hooli.example")

    result = convert(lead, rep)

    assert (result.opportunity.contact, result.contact_created) == (contact, False)


def test_a_chosen_account_wins_over_the_match(rep):
    chosen = AccountFactory()
    AccountFactory(domain="matched.example")
    lead = LeadFactory(stage=Stage.SQL, owner=rep, company_domain="matched.example")

    assert convert(lead, rep, account=chosen).opportunity.account == chosen


@pytest.mark.parametrize(
    ("stage", "kwargs", "field", "message"),
    [
        (Stage.MQL, {}, "stage", "sales-qualified .SQL. lead can be converted; this one is MQL"),
        (Stage.SQL, {"amount": "-1"}, "amount", "cannot be negative"),
        (Stage.SQL, {"amount": "lots"}, "amount", "as a number"),
        (Stage.SQL, {"expected_close_on": None}, "expected_close_on", "expected to close"),
        (Stage.SQL, {"expected_close_on": in_days(-1)}, "expected_close_on", "in the past"),
        (Stage.SQL, {"name": "x" * 201}, "name", "at most 200"),
    ],
)
def test_bad_conversions_are_refused_naming_the_field_and_change_nothing(rep, stage, kwargs, field, message):
    lead = LeadFactory(stage=stage, owner=rep)

    with pytest.raises(LeadOperationError, match=message) as excinfo:
        convert(lead, rep, **kwargs)

    assert excinfo.value.field == field
    assert not Opportunity.objects.exists()
    assert not Account.objects.exists()
    assert Lead.objects.get(pk=lead.pk).stage == stage


def test_a_lead_is_converted_once(rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)
    convert(lead, rep)

    with pytest.raises(LeadOperationError, match="already been converted"):
        convert(lead, rep)


# --- Won and lost -----------------------------------------------------------------------------------


@pytest.fixture
def open_opportunity(rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)
    return convert(lead, rep, amount="10000").opportunity


def test_won_with_the_final_amount_and_date_and_the_lead_follows(rep, open_opportunity):
    closed = opportunity_close(
        opportunity=open_opportunity, outcome="won", amount="11250", closed_on=TODAY(), actor=rep, note="Signed"
    )

    assert (closed.stage, closed.amount, closed.closed_on, closed.lost_reason) == (
        "won",
        Decimal("11250.00"),
        TODAY(),
        None,
    )
    lead = Lead.objects.get(pk=open_opportunity.lead_id)
    assert lead.stage == Stage.WON
    last = lead.stage_changes.last()
    assert (last.from_stage, last.to_stage, last.actor, last.reason) == (Stage.OPPORTUNITY, Stage.WON, rep, "Signed")
    event = AuditEvent.objects.get(action="opportunity.close")
    assert event.changes["amount"] == ["10000.00", "11250.00"]


def test_lost_with_a_reason_from_the_list_and_the_lead_follows(rep, open_opportunity):
    competitor = listed_reason("lost", "Competitor")

    closed = opportunity_close(opportunity=open_opportunity, outcome="lost", lost_reason=competitor, actor=rep)

    assert (closed.stage, closed.closed_on, closed.lost_reason, closed.amount) == (
        "lost",
        TODAY(),
        competitor,
        Decimal("10000.00"),
    )
    lead = Lead.objects.get(pk=open_opportunity.lead_id)
    assert lead.stage == Stage.LOST
    assert lead.stage_changes.last().reason_code == competitor


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"outcome": "lost"}, "lost_reason", "Pick why it was lost"),
        ({"outcome": "lost", "lost_reason": ("disqualified", "Spam")}, "lost_reason", "not a lost one"),
        ({"outcome": "won", "lost_reason": ("lost", "Price")}, "lost_reason", "no lost reason"),
        ({"outcome": "won", "closed_on": 1}, "closed_on", "in the future"),
        ({"outcome": "won", "closed_on": -400}, "closed_on", "before the opportunity was opened"),
        ({"outcome": "won", "amount": "-5"}, "amount", "cannot be negative"),
        ({"outcome": "maybe"}, "outcome", "won or lost"),
    ],
)
def test_bad_closes_are_refused_naming_the_field(rep, open_opportunity, kwargs, field, message):
    if "lost_reason" in kwargs:
        kwargs["lost_reason"] = listed_reason(*kwargs["lost_reason"])
    if "closed_on" in kwargs:
        kwargs["closed_on"] = in_days(kwargs["closed_on"])

    with pytest.raises(LeadOperationError, match=message) as excinfo:
        opportunity_close(opportunity=open_opportunity, actor=rep, **kwargs)

    assert excinfo.value.field == field
    open_opportunity.refresh_from_db()
    assert open_opportunity.stage == "open"
    assert Lead.objects.get(pk=open_opportunity.lead_id).stage == Stage.OPPORTUNITY


def test_a_closed_opportunity_cannot_be_closed_again(rep, open_opportunity):
    opportunity_close(opportunity=open_opportunity, outcome="won", actor=rep)

    with pytest.raises(LeadOperationError, match="already closed as won"):
        opportunity_close(
            opportunity=open_opportunity, outcome="lost", lost_reason=listed_reason("lost", "Price"), actor=rep
        )


def test_an_opportunity_lead_does_not_move_except_through_its_opportunity(rep, open_opportunity):
    lead = Lead.objects.get(pk=open_opportunity.lead_id)

    with pytest.raises(LeadOperationError, match="close the opportunity"):
        lead_change_stage(lead=lead, to_stage=Stage.LOST, actor=rep, reason_code=listed_reason("lost", "Price"))


def test_the_default_lists_come_back_in_an_empty_database_but_never_over_the_admins_lists():
    Reason.objects.all().delete()

    made = reasons_ensure_defaults()
    again = reasons_ensure_defaults()
    Reason.objects.exclude(label="Price").delete()
    after_admin_cleanup = reasons_ensure_defaults()

    assert made == 15
    assert again == 0
    assert after_admin_cleanup == 0
    assert list(Reason.objects.values_list("label", flat=True)) == ["Price"]


def test_the_daily_beat_task_runs_the_revisit(settings):
    from leads.tasks import leads_revisit_due_task

    LeadFactory(stage=Stage.NURTURE, revisit_on=in_days(-2))

    assert leads_revisit_due_task.apply().get() == 1
    assert settings.CELERY_BEAT_SCHEDULE["lifecycle-revisit"]["task"] == "leads.tasks.leads_revisit_due_task"
