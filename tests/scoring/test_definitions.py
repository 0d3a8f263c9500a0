"""Lead-definition versions: drafts, approvals by two people of two sides, publishing, restoring."""

from __future__ import annotations

import copy

import pytest
from django.contrib.contenttypes.models import ContentType

from leads.models import AuditEvent, DefinitionApproval, Lead, LeadDefinition, RescoreJob, Stage
from scoring.defaults import DEFAULT_RULES
from scoring.definitions import (
    DefinitionError,
    DefinitionRulesInvalid,
    definition_approve,
    definition_draft_create,
    definition_draft_update,
    definition_publish,
    definition_restore,
)
from scoring.services import lead_score
from tests.factories import LeadDefinitionFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = LeadDefinition.Status
MARKETING = DefinitionApproval.Side.MARKETING
SALES = DefinitionApproval.Side.SALES
FINTECH_RULE = {
    "id": "fintech",
    "label": "Industry is fintech",
    "field": "industry",
    "op": "eq",
    "value": "fintech",
    "points": 30,
}


@pytest.fixture
def marketing_admin(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Moreau", roles=["admin", "marketing"])


@pytest.fixture
def sales_admin(db):
    return UserFactory(username="sam", first_name="Sam", last_name="Tanaka", roles=["admin", "sales"])


@pytest.fixture
def published(db, marketing_admin):
    return LeadDefinitionFactory(version=1, author=marketing_admin, rules=copy.deepcopy(DEFAULT_RULES))


@pytest.fixture
def draft(published, marketing_admin):
    return definition_draft_create(author=marketing_admin, note="Fintech matters more")


def with_fintech(rules):
    rules = copy.deepcopy(rules)
    return {**rules, "fit": [*rules["fit"], dict(FINTECH_RULE)]}


def audit_actions(obj) -> list[str]:
    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(LeadDefinition), object_id=str(obj.pk)
    ).order_by("created_at", "id")
    return list(events.values_list("action", flat=True))


def approve_both(definition, marketing_admin, sales_admin) -> None:
    definition_approve(definition=definition, user=marketing_admin, side=MARKETING)
    definition_approve(definition=definition, user=sales_admin, side=SALES)


# --- Drafts ----------------------------------------------------------------------------------------


def test_a_new_draft_copies_the_published_rules_with_the_next_version(published, marketing_admin):
    LeadDefinitionFactory(version=7, status=Status.RETIRED)

    draft = definition_draft_create(author=marketing_admin, note="  Next quarter  ")

    assert (draft.version, draft.status, draft.note) == (8, Status.DRAFT, "Next quarter")
    assert draft.rules == published.rules
    assert draft.rules is not published.rules
    assert draft.based_on == published
    assert draft.author == marketing_admin
    assert draft.published_at is None
    assert audit_actions(draft) == ["definition.draft"]


def test_a_draft_can_start_from_any_version(published, marketing_admin):
    old = LeadDefinitionFactory(version=5, status=Status.RETIRED, rules={**DEFAULT_RULES, "thresholds": {"mql": 80}})

    draft = definition_draft_create(author=marketing_admin, based_on=old)

    assert draft.rules["thresholds"] == {"mql": 80}
    assert draft.based_on == old
    assert draft.version == 6


def test_without_a_published_version_a_draft_starts_from_the_defaults(marketing_admin):
    draft = definition_draft_create(author=marketing_admin)

    assert (draft.version, draft.rules, draft.based_on) == (1, DEFAULT_RULES, None)


def test_updating_a_draft_saves_rules_and_note(draft, marketing_admin):
    saved = definition_draft_update(
        definition=draft, rules=with_fintech(draft.rules), note="Fintech +30", actor=marketing_admin
    )

    draft.refresh_from_db()
    assert saved.rules_changed
    assert draft.rules["fit"][-1] == FINTECH_RULE
    assert draft.note == "Fintech +30"
    assert audit_actions(draft) == ["definition.draft", "definition.update"]


def test_invalid_rules_are_refused_with_every_problem_and_nothing_is_saved(draft, marketing_admin):
    rules = with_fintech(draft.rules)
    rules["fit"][-1]["field"] = "industy"
    rules["engagement"][0]["half_life_days"] = 0

    with pytest.raises(DefinitionRulesInvalid) as caught:
        definition_draft_update(definition=draft, rules=rules, note="typo", actor=marketing_admin)

    errors = caught.value.message_dict
    assert list(errors) == [
        "fit rule 7 (“Industry is fintech”) \u203a field",
        "engagement rule 1 (“Visited pricing page”) \u203a half-life",
    ]
    assert errors["engagement rule 1 (“Visited pricing page”) \u203a half-life"] == [
        "Half-life must be more than 0 days"
    ]
    assert [(p.section, p.index, p.key) for p in caught.value.problems] == [
        ("fit", 6, "field"),
        ("engagement", 0, "half_life_days"),
    ]
    draft.refresh_from_db()
    assert draft.rules == DEFAULT_RULES
    assert draft.note == "Fintech matters more"


def test_published_and_retired_versions_are_never_edited(published, marketing_admin):
    with pytest.raises(DefinitionError, match="v1 is published: only a draft can be edited"):
        definition_draft_update(definition=published, rules=DEFAULT_RULES, note="", actor=marketing_admin)


def test_changing_the_rules_withdraws_the_approvals(draft, marketing_admin, sales_admin):
    approve_both(draft, marketing_admin, sales_admin)

    saved = definition_draft_update(
        definition=draft, rules=with_fintech(draft.rules), note=draft.note, actor=marketing_admin
    )

    assert saved.approvals_withdrawn == (MARKETING, SALES)
    assert not DefinitionApproval.objects.filter(definition=draft).exists()
    event = AuditEvent.objects.filter(action="definition.update").get()
    assert event.changes["approvals"][1] == []


def test_changing_only_the_note_keeps_the_approvals(draft, marketing_admin, sales_admin):
    approve_both(draft, marketing_admin, sales_admin)

    saved = definition_draft_update(
        definition=draft, rules=copy.deepcopy(draft.rules), note="Better words", actor=sales_admin
    )

    assert not saved.rules_changed
    assert saved.approvals_withdrawn == ()
    assert DefinitionApproval.objects.filter(definition=draft).count() == 2


# --- Approvals -------------------------------------------------------------------------------------


def test_a_marketing_admin_and_a_sales_admin_approve(draft, marketing_admin, sales_admin):
    first = definition_approve(definition=draft, user=marketing_admin, side=MARKETING, note="  Good for demand gen ")
    second = definition_approve(definition=draft, user=sales_admin, side=SALES)

    assert (first.user, first.side, first.note) == (marketing_admin, MARKETING, "Good for demand gen")
    assert (second.user, second.side) == (sales_admin, SALES)
    assert audit_actions(draft) == ["definition.draft", "definition.approve", "definition.approve"]


def test_the_same_person_cannot_approve_for_both_sides(draft):
    both = UserFactory(username="bea", roles=["admin", "marketing", "sales"])
    definition_approve(definition=draft, user=both, side=MARKETING)

    with pytest.raises(DefinitionError, match="the sales approval must come from someone else"):
        definition_approve(definition=draft, user=both, side=SALES)

    assert list(draft.approvals.values_list("side", flat=True)) == [MARKETING]


def test_a_side_approves_once(draft, marketing_admin):
    other = UserFactory(username="mia", roles=["admin", "marketing"])
    definition_approve(definition=draft, user=marketing_admin, side=MARKETING)

    with pytest.raises(DefinitionError, match=r"Marketing has already approved v2 \(Ada Moreau\)"):
        definition_approve(definition=draft, user=other, side=MARKETING)


def test_a_sales_rep_without_the_admin_role_cannot_approve(draft, rep):
    with pytest.raises(DefinitionError, match=r"Only a sales admin \(in the admin and sales roles\) can approve"):
        definition_approve(definition=draft, user=rep, side=SALES)

    assert not draft.approvals.exists()


def test_an_admin_approves_only_for_the_side_they_belong_to(draft, marketing_admin):
    admin_of_no_side = UserFactory(username="adrian", roles=["admin"])
    with pytest.raises(DefinitionError, match="Only a marketing admin"):
        definition_approve(definition=draft, user=admin_of_no_side, side=MARKETING)
    with pytest.raises(DefinitionError, match="Only a sales admin"):
        definition_approve(definition=draft, user=marketing_admin, side=SALES)
    with pytest.raises(DefinitionError, match="Unknown side “finance”"):
        definition_approve(definition=draft, user=marketing_admin, side="finance")


def test_the_author_may_approve_one_side(draft, marketing_admin, sales_admin):
    assert draft.author == marketing_admin

    definition_approve(definition=draft, user=marketing_admin, side=MARKETING)
    definition_approve(definition=draft, user=sales_admin, side=SALES)

    assert draft.approvals.count() == 2


def test_only_drafts_with_valid_rules_are_approved(published, draft, marketing_admin):
    with pytest.raises(DefinitionError, match="v1 is published: only a draft can be approved"):
        definition_approve(definition=published, user=marketing_admin, side=MARKETING)

    LeadDefinition.objects.filter(pk=draft.pk).update(rules={**DEFAULT_RULES, "thresholds": {"mql": "high"}})
    draft.refresh_from_db()
    with pytest.raises(DefinitionError, match="has problems to fix"):
        definition_approve(definition=draft, user=marketing_admin, side=MARKETING)


# --- Publishing ------------------------------------------------------------------------------------


def test_publishing_needs_both_approvals(draft, marketing_admin, sales_admin):
    with pytest.raises(DefinitionError, match="needs the approval of marketing and sales"):
        definition_publish(definition=draft, actor=sales_admin)

    definition_approve(definition=draft, user=marketing_admin, side=MARKETING)
    with pytest.raises(DefinitionError, match="needs the approval of sales before"):
        definition_publish(definition=draft, actor=sales_admin)

    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert not RescoreJob.objects.exists()


def test_publishing_retires_the_old_version_records_who_and_when_and_rescores(
    published, draft, marketing_admin, sales_admin, django_capture_on_commit_callbacks
):
    lead = LeadFactory(industry="fintech", seniority="director", employees=250, country="US", stage=Stage.NEW)
    lead_score(lead=lead)
    assert lead.score == 50  # director 10, target industry 15, 200+ employees 15, core market 10
    definition_draft_update(definition=draft, rules=with_fintech(draft.rules), note=draft.note, actor=marketing_admin)
    approve_both(draft, marketing_admin, sales_admin)

    with django_capture_on_commit_callbacks(execute=True):
        job = definition_publish(definition=draft, actor=sales_admin)

    draft.refresh_from_db()
    published.refresh_from_db()
    assert (draft.status, draft.published_by) == (Status.PUBLISHED, sales_admin)
    assert draft.published_at is not None
    assert (published.status, published.retired_at) == (Status.RETIRED, draft.published_at)
    assert LeadDefinition.objects.filter(status=Status.PUBLISHED).get() == draft
    assert "definition.publish" in audit_actions(draft)
    assert audit_actions(published)[-1] == "definition.retire"
    job.refresh_from_db()
    assert (job.definition, job.reason, job.created_by) == (draft, RescoreJob.Reason.PUBLISH, sales_admin)
    assert (job.status, job.leads_done, job.leads_total) == (RescoreJob.Status.DONE, 1, 1)
    lead = Lead.objects.get(pk=lead.pk)
    assert (lead.score, lead.definition, lead.stage) == (80, draft, Stage.MQL)
    assert "+30 Industry is fintech" in [line["text"] for line in lead.score_breakdown]


def test_a_published_version_is_not_published_again(published, sales_admin):
    with pytest.raises(DefinitionError, match="only a draft can be published"):
        definition_publish(definition=published, actor=sales_admin)


def test_the_first_version_publishes_with_nothing_to_retire(marketing_admin, sales_admin):
    draft = definition_draft_create(author=marketing_admin)
    approve_both(draft, marketing_admin, sales_admin)

    definition_publish(definition=draft, actor=sales_admin)

    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED
    assert not LeadDefinition.objects.filter(status=Status.RETIRED).exists()


# --- Restoring -------------------------------------------------------------------------------------


def test_an_older_version_is_restored_as_a_new_draft(published, marketing_admin):
    old = LeadDefinitionFactory(
        version=3, status=Status.RETIRED, rules={**DEFAULT_RULES, "thresholds": {"mql": 75}}, note="Strict"
    )

    restored = definition_restore(version=old, actor=marketing_admin)

    assert (restored.version, restored.status, restored.based_on) == (4, Status.DRAFT, old)
    assert restored.rules == old.rules
    assert restored.author == marketing_admin
    assert restored.note == "Restored from v3."
    old.refresh_from_db()
    assert old.status == Status.RETIRED


def test_a_draft_is_edited_not_restored(draft, marketing_admin):
    with pytest.raises(DefinitionError, match="v2 is a draft: edit it instead"):
        definition_restore(version=draft, actor=marketing_admin)
