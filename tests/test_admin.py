"""The Django admin: every model registered and usable, without a query per row, and true to the domain
rules (stage moves through the lifecycle, history read-only, API keys shown once)."""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads.lifecycle import opportunity_close
from leads.models import (
    Activity,
    AuditEvent,
    DefinitionApproval,
    DefinitionPreview,
    ImportChunk,
    ImportJob,
    ImportRowError,
    Lead,
    LeadDefinition,
    Opportunity,
    Reason,
    RescoreChunk,
    RescoreJob,
    SavedView,
    Source,
    SourceRecord,
    Stage,
    StageChange,
    Submission,
)
from leads.services import lead_change_stage
from routing.models import Assignment, Notification, OverflowEntry, Rejection, Rep, SlaBreach, Territory
from scoring.services import lead_score
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    LeadDefinitionFactory,
    LeadFactory,
    OpportunityFactory,
    SourceFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [model for label in ("leads", "routing") for model in apps.get_app_config(label).get_models()]
#: Records of what happened: nobody adds or edits them in the admin.
READ_ONLY = {
    StageChange, AuditEvent, Submission, ImportJob, ImportChunk, ImportRowError, DefinitionApproval, RescoreJob,
    RescoreChunk, DefinitionPreview, LeadDefinition, Assignment, OverflowEntry,
    Rejection, SlaBreach, Notification,
}  # fmt: skip
#: Made only by a service (an opportunity by converting a lead), so there is no add page.
MADE_BY_SERVICES = {Opportunity}


def url(model: type, view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(response: Any) -> dict[str, Any]:
    """What the browser would post back from a change page: the form's values and its inlines'."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, MultiWidget):
                parts = bound.field.widget.decompress(value)
                data.update({f"{bound.html_name}_{i}": part for i, part in enumerate(parts) if part is not None})
            elif isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = value
    return data


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Every test here makes three or more users; at 0.2 s per PBKDF2 hash that would be most of the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def one_of_each(rep, marketer):
    """At least one row of every model, linked the way real data is."""
    LeadDefinitionFactory()
    account = AccountFactory(owner=rep)
    source = SourceFactory(name="Website", slug="website")
    campaign = CampaignFactory(source=source)
    lead = LeadFactory(source=source, campaign=campaign, account=account, contact=ContactFactory(account=account))
    lead_score(lead=lead)
    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=marketer)
    SourceRecord.objects.create(lead=lead, source=source, external_id="ROW-1")
    ActivityFactory(lead=lead, kind=Activity.Kind.PRICING_VISIT)
    job = ImportJob.objects.create(
        source=source, file="imports/fair.csv", file_name="fair.csv", created_by=marketer, rows_read=2, rows_rejected=1
    )
    ImportChunk.objects.create(job=job, number=1, rows=2)
    ImportRowError.objects.create(job=job, row_number=3, field="email", problem="Not an e-mail address", value="bob@")
    Submission.objects.create(source=source, lead=lead, payload={"email": lead.email}, idempotency_key="k-1")
    membership = TerritoryMembershipFactory(rep=Rep.objects.get(user=rep), weight=2)
    Assignment.objects.create(
        lead=lead,
        rep=membership.rep,
        territory=membership.territory,
        rule=Assignment.Rule.ACCOUNT_OWNER,
        reason="Owns it.",
    )
    OverflowEntry.objects.create(lead=lead, territory=membership.territory, score=lead.score, reason="Nobody had room.")
    Rejection.objects.create(
        lead=lead, rep=membership.rep, reason=Rejection.Reason.NOT_A_FIT, source=source, note="B2C"
    )
    SlaBreach.objects.create(
        lead=lead,
        rep=membership.rep,
        source=source,
        territory=membership.territory,
        stage=Stage.MQL,
        kind=SlaBreach.Kind.ACCEPT,
        due_at=lead.created_at,
        action=SlaBreach.Action.ESCALATED,
        note="Nobody else had room.",
    )
    Notification.objects.create(user=rep, kind=Notification.Kind.SLA_ESCALATED, lead=lead, title="SLA lapsed")
    SavedView.objects.create(owner=marketer, name="Hot and unowned", query="score_min=80&unowned=true")
    definition = LeadDefinition.objects.get()
    DefinitionApproval.objects.create(definition=definition, user=marketer, side=DefinitionApproval.Side.MARKETING)
    rescore = RescoreJob.objects.create(definition=definition, reason=RescoreJob.Reason.PUBLISH, leads_total=1)
    RescoreChunk.objects.create(job=rescore, number=0, leads=1)
    DefinitionPreview.objects.create(definition=definition, rules_digest="0" * 64)
    OpportunityFactory(lead=LeadFactory(source=source, campaign=campaign, stage=Stage.OPPORTUNITY), account=account)
    return lead


def test_every_leads_and_routing_model_is_registered():
    """Every model gets an admin, and a row in ``one_of_each``, so the page tests below cover it."""
    assert [model.__name__ for model in MODELS if not admin.site.is_registered(model)] == []


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_changelist_with_a_search_loads(staff_client, one_of_each, model):
    assert staff_client.get(url(model, "changelist")).status_code == 200
    assert staff_client.get(url(model, "changelist"), {"q": "a"}).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_change_page_loads(staff_client, one_of_each, model):
    obj = model.objects.first()

    assert staff_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_add_page_loads_except_for_records_of_what_happened(staff_client, one_of_each, model):
    expected = 403 if model in READ_ONLY | MADE_BY_SERVICES else 200

    assert staff_client.get(url(model, "add")).status_code == expected


@pytest.mark.parametrize("model", sorted(READ_ONLY, key=lambda model: model.__name__), ids=lambda m: m.__name__)
def test_records_of_what_happened_cannot_be_changed_or_deleted(staff_client, one_of_each, model):
    obj = model.objects.first()

    page = staff_client.get(url(model, "change", obj.pk))

    assert b'name="_save"' not in page.content
    assert staff_client.post(url(model, "change", obj.pk), {}).status_code == 403
    assert staff_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_search_finds_leads_by_company_and_email(staff_client):
    LeadFactory(company="Initech", email="peter@initech.example")
    LeadFactory(company="Globex", email="hank@globex.example")

    by_company = staff_client.get(url(Lead, "changelist"), {"q": "initech"})
    by_email = staff_client.get(url(Lead, "changelist"), {"q": "hank@"})

    assert [lead.company for lead in by_company.context["cl"].result_list] == ["Initech"]
    assert [lead.company for lead in by_email.context["cl"].result_list] == ["Globex"]


def _lead_changelist_queries(client: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(Lead, "changelist"), {"q": "example"})
    assert response.status_code == 200
    return len(queries)


def test_lead_changelist_does_not_query_per_row(staff_client, rep):
    source, campaign = SourceFactory(), CampaignFactory()
    LeadFactory.create_batch(5, source=source, campaign=campaign, owner=rep)
    few = _lead_changelist_queries(staff_client)
    LeadFactory.create_batch(45, source=source, campaign=campaign, owner=rep)

    many = _lead_changelist_queries(staff_client)

    assert many == few
    assert many <= 12


@pytest.mark.parametrize("model", [Rep, Territory, Activity, StageChange, AuditEvent], ids=lambda m: m.__name__)
def test_other_busy_changelists_do_not_query_per_row(staff_client, one_of_each, model):
    with CaptureQueriesContext(connection) as once:
        staff_client.get(url(model, "changelist"))
    for _ in range(5):  # more rows of everything
        lead = LeadFactory(owner=one_of_each.account.owner)
        lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=None)
        ActivityFactory(lead=lead)
        TerritoryMembershipFactory()

    with CaptureQueriesContext(connection) as again:
        staff_client.get(url(model, "changelist"))

    assert len(again) == len(once)


def test_rotate_api_key_shows_the_new_key_once_and_stores_its_hash(staff_client, superuser):
    source = SourceFactory()
    source.set_new_api_key()
    source.save()
    old_hash = source.api_key_hash

    response = staff_client.post(
        url(Source, "changelist"), {"action": "rotate_api_key", "_selected_action": [source.pk]}, follow=True
    )

    [message] = messages_of(response)
    [key] = re.findall(r"lf_[\w-]{20,}", message)
    source.refresh_from_db()
    assert source.api_key_hash == hashlib.sha256(key.encode()).hexdigest() != old_hash
    event = AuditEvent.objects.get(action="source.rotate_key")
    assert (event.actor, event.object_id) == (superuser, str(source.pk))
    assert key not in staff_client.get(url(Source, "change", source.pk)).content.decode()


def test_a_source_added_in_the_admin_gets_a_key_shown_once(staff_client):
    response = staff_client.post(
        url(Source, "add"),
        {"name": "Fair", "slug": "fair", "kind": "event", "trust": 40, "rate_limit_per_minute": 60, "is_active": "on"},
        follow=True,
    )

    [key] = re.findall(r"lf_[\w-]{20,}", " ".join(messages_of(response)))
    assert Source.objects.get(slug="fair").api_key_hash == hashlib.sha256(key.encode()).hexdigest()


def test_a_source_slug_cannot_change_once_made(staff_client):
    source = SourceFactory(slug="website")
    page = staff_client.get(url(Source, "change", source.pk))

    staff_client.post(url(Source, "change", source.pk), {**form_data(page), "slug": "web"})

    assert Source.objects.get(pk=source.pk).slug == "website"


def test_stage_change_in_the_admin_goes_through_the_lifecycle(staff_client, superuser):
    lead = LeadFactory(stage=Stage.NEW)
    page = staff_client.get(url(Lead, "change", lead.pk))

    competitor = Reason.objects.get(kind="disqualified", label="Competitor")

    response = staff_client.post(
        url(Lead, "change", lead.pk),
        {**form_data(page), "stage": Stage.JUNK, "stage_reason": "rivalcrm.com", "stage_reason_code": competitor.pk},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.junk_reason) == (Stage.JUNK, "Competitor: rivalcrm.com")
    [change] = lead.stage_changes.all()
    assert (change.from_stage, change.to_stage, change.actor, change.reason, change.reason_code) == (
        Stage.NEW,
        Stage.JUNK,
        superuser,
        "rivalcrm.com",
        competitor,
    )
    assert AuditEvent.objects.filter(action="lead.stage_change", object_id=str(lead.pk)).exists()


def test_illegal_stage_change_in_the_admin_is_shown_on_the_form(staff_client):
    lead = LeadFactory(stage=Stage.NEW)
    page = staff_client.get(url(Lead, "change", lead.pk))

    response = staff_client.post(url(Lead, "change", lead.pk), {**form_data(page), "stage": Stage.WON})

    assert response.status_code == 200
    assert "cannot move to Won" in str(response.context["adminform"].form.errors["stage"])
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW
    assert not StageChange.objects.exists()


def test_junk_without_a_reason_in_the_admin_is_shown_on_the_form(staff_client):
    lead = LeadFactory(stage=Stage.NEW)
    page = staff_client.get(url(Lead, "change", lead.pk))

    response = staff_client.post(url(Lead, "change", lead.pk), {**form_data(page), "stage": Stage.JUNK})

    assert response.status_code == 200
    assert "needs a reason" in str(response.context["adminform"].form.errors["stage_reason_code"])
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW


def test_editing_other_lead_fields_leaves_the_stage_history_alone(staff_client):
    lead = LeadFactory(stage=Stage.NEW, title="Engineer")
    page = staff_client.get(url(Lead, "change", lead.pk))

    response = staff_client.post(url(Lead, "change", lead.pk), {**form_data(page), "title": "CTO"})

    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).title == "CTO"
    assert not StageChange.objects.exists()


def test_score_and_breakdown_are_shown_but_not_editable(staff_client, published_definition):
    lead = LeadFactory(seniority="vp")
    lead_score(lead=lead)
    page = staff_client.get(url(Lead, "change", lead.pk))

    response = staff_client.post(url(Lead, "change", lead.pk), {**form_data(page), "score": 999})

    assert "+20 Title is VP or above" in page.content.decode()
    assert 'name="score"' not in page.content.decode()
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).score == lead.score


def test_a_note_added_on_the_lead_page_is_signed_by_the_admin_user(staff_client, superuser):
    lead = LeadFactory()
    page = staff_client.get(url(Lead, "change", lead.pk))
    data = form_data(page)
    data.update(
        {
            "activities-TOTAL_FORMS": "1",
            "activities-0-kind": Activity.Kind.NOTE,
            "activities-0-occurred_at_0": "2025-06-01",
            "activities-0-occurred_at_1": "10:00:00",
            "activities-0-subject": "Called, left a voicemail",
        }
    )

    response = staff_client.post(url(Lead, "change", lead.pk), data)

    assert response.status_code == 302
    [note] = lead.activities.all()
    assert (note.kind, note.subject, note.actor) == (Activity.Kind.NOTE, "Called, left a voicemail", superuser)


def test_published_definition_is_read_only_and_kept(staff_client, published_definition):
    page = staff_client.get(url(LeadDefinition, "change", published_definition.pk))

    assert 'name="rules"' not in page.content.decode()
    assert staff_client.get(url(LeadDefinition, "delete", published_definition.pk)).status_code == 403


def test_definitions_are_read_only_in_the_admin_so_rules_always_go_through_validation_and_approval(staff_client):
    draft = LeadDefinitionFactory(status=LeadDefinition.Status.DRAFT, published_at=None, note="first try")

    response = staff_client.post(url(LeadDefinition, "change", draft.pk), {"note": "second try", "rules": "{}"})

    assert response.status_code == 403
    assert LeadDefinition.objects.get(pk=draft.pk).note == "first try"


def test_territory_criteria_are_typed_as_comma_separated_lists(staff_client):
    response = staff_client.post(
        url(Territory, "add"),
        {
            "name": "DACH",
            "slug": "dach",
            "priority": 5,
            "is_active": "on",
            "countries": "de, at,CH, de",
            "regions": "",
            "postal_prefixes": "",
            "industries": "software, fintech",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    territory = Territory.objects.get(slug="dach")
    assert (territory.countries, territory.regions, territory.industries) == (
        ["DE", "AT", "CH"],
        [],
        ["software", "fintech"],
    )


def test_territory_countries_must_be_iso_codes(staff_client):
    response = staff_client.post(
        url(Territory, "add"),
        {
            "name": "Bad",
            "slug": "bad",
            "priority": 5,
            "countries": "Germany",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "two-letter" in str(response.context["adminform"].form.errors["countries"])
    assert not Territory.objects.exists()


def test_audit_event_links_to_the_object_it_is_about(staff_client, marketer):
    lead = LeadFactory()
    lead_change_stage(lead=lead, to_stage=Stage.MQL, actor=marketer)

    page = staff_client.get(url(AuditEvent, "changelist"))

    assert url(Lead, "change", lead.pk) in page.content.decode()
    assert AuditEvent.objects.get().content_type == ContentType.objects.get_for_model(Lead)


def test_a_reps_working_days_are_ticked_in_the_admin(staff_client, rep):
    profile = Rep.objects.get(user=rep)
    data = {
        "user": rep.pk, "is_available": "on", "out_of_office_from_0": "", "out_of_office_from_1": "",
        "out_of_office_until_0": "", "out_of_office_until_1": "", "backup": "", "max_open_leads": 25,
        "max_new_per_day": 10, "min_score": 0, "timezone": "Europe/Berlin", "work_start": "08:00",
        "work_end": "16:00", "work_days": ["1", "2", "3", "4", "6"],
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    }  # fmt: skip

    response = staff_client.post(url(Rep, "change", profile.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert (profile.work_days, profile.timezone) == ([1, 2, 3, 4, 6], "Europe/Berlin")
    page = staff_client.get(url(Rep, "change", profile.pk)).content.decode()
    assert re.search(r'name="work_days" value="6" id="id_work_days_\d" checked', page)
    assert not re.search(r'name="work_days" value="5" id="id_work_days_\d" checked', page)


# --- Opportunities: the admin goes through the lifecycle services ------------------------------------


def test_an_open_opportunitys_amount_and_close_date_are_saved_by_the_service(staff_client, superuser, rep):
    opportunity = OpportunityFactory(amount=5000, lead__owner=rep, owner=rep)
    page = staff_client.get(url(Opportunity, "change", opportunity.pk))
    later = timezone.localdate() + datetime.timedelta(days=20)

    response = staff_client.post(
        url(Opportunity, "change", opportunity.pk),
        {**form_data(page), "amount": "8000", "expected_close_on": later.isoformat(), "owner": ""},
    )

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.amount, opportunity.expected_close_on, opportunity.owner) == (8000, later, None)
    event = AuditEvent.objects.get(action="opportunity.update", object_id=str(opportunity.pk))
    assert (event.actor, event.changes) == (
        superuser,
        {
            "amount": ["5000.00", "8000.00"],
            "expected_close_on": [opportunity.created_at.date().isoformat(), later.isoformat()],
        },
    )


def test_a_past_expected_close_date_in_the_admin_is_shown_on_the_form(staff_client):
    opportunity = OpportunityFactory(amount=5000)
    page = staff_client.get(url(Opportunity, "change", opportunity.pk))
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = staff_client.post(
        url(Opportunity, "change", opportunity.pk),
        {**form_data(page), "expected_close_on": yesterday.isoformat(), "amount": "1"},
    )

    assert response.status_code == 200
    assert "cannot be in the past" in str(response.context["adminform"].form.errors["expected_close_on"])
    opportunity.refresh_from_db()
    assert opportunity.amount == 5000


def test_a_closed_opportunitys_outcome_fields_are_read_only_in_the_admin(staff_client, superuser):
    opportunity = OpportunityFactory(amount=5000)
    opportunity_close(opportunity=opportunity, outcome="won", amount="6000", actor=superuser)
    page = staff_client.get(url(Opportunity, "change", opportunity.pk))

    staff_client.post(url(Opportunity, "change", opportunity.pk), {**form_data(page), "amount": "1", "name": "X"})

    assert {"amount", "name", "expected_close_on"} <= set(page.context["adminform"].readonly_fields)
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.amount, opportunity.name != "X") == ("won", 6000, True)
