"""The lead-definition pages that change things: drafts and the editor, preview, approvals,
publishing, restoring, comparing; through the test client."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django import forms
from django.urls import reverse

from leads.models import DefinitionApproval, DefinitionPreview, LeadDefinition, RescoreJob, Stage
from scoring.defaults import DEFAULT_RULES
from scoring.definitions import definition_approve, definition_draft_create
from scoring.forms import DefinitionEditor
from scoring.services import lead_score
from tests.factories import LeadDefinitionFactory, LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = LeadDefinition.Status
FINTECH_RULE = {
    "id": "fintech",
    "label": "Industry is fintech",
    "field": "industry",
    "op": "eq",
    "value": "fintech",
    "points": 30,
}
MARKETING = DefinitionApproval.Side.MARKETING
SALES = DefinitionApproval.Side.SALES


@pytest.fixture
def marketing_admin(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Moreau", roles=["admin", "marketing"])


@pytest.fixture
def sales_admin(db):
    return UserFactory(username="sam", first_name="Sam", last_name="Tanaka", roles=["admin", "sales"])


@pytest.fixture
def published(marketing_admin):
    return LeadDefinitionFactory(version=1, author=marketing_admin, rules=copy.deepcopy(DEFAULT_RULES))


@pytest.fixture
def draft(published, marketing_admin):
    return definition_draft_create(author=marketing_admin, note="Fintech matters more")


def editor_data(definition: LeadDefinition) -> dict[str, str]:
    """What the editor's form posts when nothing is touched (as a browser would send it)."""
    editor = DefinitionEditor(rules=definition.rules, note=definition.note)
    data: dict[str, str] = {}
    for name, field in editor.settings.fields.items():
        value = editor.settings[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else str(value)
    for prefix, formset in editor.formsets.items():
        management = formset.management_form
        for name in management.fields:
            data[f"{prefix}-{name}"] = str(management[name].value())
        for form in formset.forms:
            for name in form.fields:
                if name != "DELETE":
                    value = form[name].value()
                    data[form.add_prefix(name)] = "" if value is None else str(value)
    return data


def add_row(data: dict[str, str], prefix: str, **fields: Any) -> int:
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = str(value)
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    return index


def html_of(response) -> str:
    return response.content.decode()


# --- Permissions and unknown versions ----------------------------------------------------------------


def test_a_rep_cannot_edit_start_or_restore_drafts(client, rep, draft, published):
    client.force_login(rep)

    assert client.get(reverse("scoring:edit", args=[draft.version])).status_code == 403
    assert client.post(reverse("scoring:edit", args=[draft.version]), editor_data(draft)).status_code == 403
    assert client.post(reverse("scoring:new")).status_code == 403
    assert client.post(reverse("scoring:restore", args=[published.version])).status_code == 403
    assert client.post(reverse("scoring:approve", args=[draft.version]), {"side": SALES}).status_code == 403
    assert client.post(reverse("scoring:publish", args=[draft.version])).status_code == 403
    assert client.post(reverse("scoring:preview", args=[draft.version])).status_code == 403
    assert LeadDefinition.objects.count() == 2


def test_a_rep_reads_a_draft_without_any_button_to_change_it(client, rep, draft):
    client.force_login(rep)

    html = html_of(client.get(reverse("scoring:version", args=[draft.version])))

    assert "Fintech matters more" in html
    for button in ("Edit draft", "Approve as", 'id="publish"', 'id="preview-button"', 'id="new-draft"'):
        assert button not in html


def test_unknown_versions_are_404(client, marketing_admin, draft):
    client.force_login(marketing_admin)

    assert client.get(reverse("scoring:edit", args=[99])).status_code == 404
    assert client.get(reverse("scoring:version", args=[99])).status_code == 404
    assert client.post(reverse("scoring:approve", args=[99]), {"side": MARKETING}).status_code == 404
    assert client.get(reverse("scoring:compare"), {"a": 1, "b": 99}).status_code == 404
    assert client.get(reverse("scoring:compare"), {"a": "x", "b": 2}).status_code == 404


def test_a_published_version_is_not_edited_but_points_to_a_new_draft(client, marketing_admin, published):
    client.force_login(marketing_admin)

    response = client.get(reverse("scoring:edit", args=[published.version]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("scoring:version", args=[1])
    assert "v1 is published and stays as it is: start a new draft to change it." in html_of(response)


# --- Drafting and editing ----------------------------------------------------------------------------


def test_new_draft_starts_from_the_published_version_and_opens_the_editor(client, marketing_admin, published):
    client.force_login(marketing_admin)

    response = client.post(reverse("scoring:new"))

    draft = LeadDefinition.objects.get(version=2)
    assert response.url == reverse("scoring:edit", args=[2])
    assert (draft.status, draft.based_on, draft.author, draft.rules) == (
        Status.DRAFT,
        published,
        marketing_admin,
        published.rules,
    )


def test_the_editor_shows_every_rule_in_its_fields(client, marketing_admin, draft):
    client.force_login(marketing_admin)

    response = client.get(reverse("scoring:edit", args=[draft.version]))

    html = html_of(response)
    assert response.status_code == 200
    assert len(re.findall(r'<tr class="rule-row', html.split('id="fit-rows"')[1].split("</tbody>")[0])) == 6
    assert 'value="VP, C-level"' in html
    assert 'value="software, fintech, manufacturing"' in html
    assert 'value="US, CA, GB, DE, FR, NL"' in html
    assert "rivalcrm.com\npipelinepro.io</textarea>" in html
    assert 'name="mql" value="60"' in html
    assert '<template id="fit-template">' in html
    assert 'data-formset-add="fit"' in html


def test_saving_the_editor_untouched_changes_no_rule_and_keeps_approvals(client, marketing_admin, sales_admin, draft):
    definition_approve(definition=draft, user=marketing_admin, side=MARKETING)
    definition_approve(definition=draft, user=sales_admin, side=SALES)
    client.force_login(marketing_admin)
    data = editor_data(draft)
    data["note"] = "Only the note changes"

    response = client.post(reverse("scoring:edit", args=[draft.version]), data)

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.rules == DEFAULT_RULES
    assert draft.note == "Only the note changes"
    assert draft.approvals.count() == 2


def test_a_new_fit_rule_is_saved_and_the_page_redirects(client, marketing_admin, sales_admin, draft):
    definition_approve(definition=draft, user=sales_admin, side=SALES)
    client.force_login(marketing_admin)
    data = editor_data(draft)
    add_row(data, "fit", label="Industry is fintech", field="industry", op="eq", value="Fintech", points="30")
    add_row(data, "fit")  # an added row left blank is ignored
    add_row(data, "must_have", field="email_is_business", op="eq", value="yes")
    data["fit-5-DELETE"] = "on"  # remove "Country is in our core markets"
    data["excluded_countries"] = "kp\n\nir"

    response = client.post(reverse("scoring:edit", args=[draft.version]), data, follow=True)

    assert response.redirect_chain == [(reverse("scoring:version", args=[draft.version]), 302)]
    html = html_of(response)
    assert "Draft v2 saved. The rules changed, so the sales approval no longer stands and must be given again." in html
    draft.refresh_from_db()
    assert draft.rules["fit"][-1] == {
        "id": "industry_is_fintech",
        "label": "Industry is fintech",
        "field": "industry",
        "op": "eq",
        "value": "Fintech",
        "points": 30,
    }
    assert [rule["id"] for rule in draft.rules["fit"]] == [
        "senior",
        "director",
        "target_industry",
        "midmarket",
        "tiny",
        "industry_is_fintech",
    ]
    assert draft.rules["thresholds"]["must_have"] == [
        {"id": "email_is_business", "field": "email_is_business", "op": "eq", "value": True}
    ]
    assert draft.rules["screening"]["excluded_countries"] == ["KP", "IR"]
    assert not draft.approvals.exists()
    assert "Industry is fintech" in html


def test_problems_are_shown_beside_their_fields_and_nothing_typed_is_lost(client, marketing_admin, draft):
    client.force_login(marketing_admin)
    data = editor_data(draft)
    row = add_row(data, "fit", label="Big companies", field="employees", op="gte", value="lots", points="500")
    data["engagement-0-half_life_days"] = "0"
    data["review"] = "0.95"
    data["competitor_domains"] = "rivalcrm.com\nnot a domain"

    response = client.post(reverse("scoring:edit", args=[draft.version]), data)

    assert response.status_code == 400
    html = html_of(response)
    # The summary names each problem by where it is.
    assert "5 problems to fix" in html
    assert "fit rule 7 (“Big companies”) \u203a value" in html
    # Each message sits in the cell of the field it is about, in the row it is about.
    fit_rows = re.findall(r'<tr class="rule-row[^"]*">.*?</tr>', html.split('id="fit-rows"')[1], re.S)
    big = fit_rows[row]
    assert re.search(r'class="cell-value has-error">.*“is at least” needs a number, not “lots”', big, re.S)
    assert re.search(r'class="cell-num has-error">.*Points must be a whole number from -100 to 100', big, re.S)
    for typed in ('value="lots"', 'value="500"', 'value="Big companies"'):
        assert typed in big
    engagement_rows = re.findall(r'<tr class="rule-row[^"]*">.*?</tr>', html.split('id="engagement-rows"')[1], re.S)
    assert "Half-life must be more than 0 days" in engagement_rows[0]
    assert "Half-life must be more than 0 days" not in "".join(engagement_rows[1:])
    assert re.search(r'has-error">\s*<label for="id_review">.*Review must be below auto-merge', html, re.S)
    assert "“not a domain” does not look like a web domain" in html
    assert "rivalcrm.com\nnot a domain</textarea>" in html
    draft.refresh_from_db()
    assert draft.rules == DEFAULT_RULES


def test_an_unknown_field_in_a_stored_rule_is_named_when_saving(client, marketing_admin, draft):
    client.force_login(marketing_admin)
    data = editor_data(draft)
    data["fit-0-field"] = ""

    response = client.post(reverse("scoring:edit", args=[draft.version]), data)

    assert response.status_code == 400
    assert "fit rule 1 (“Title is VP or above”) \u203a field" in html_of(response)
    assert "Choose a field" in html_of(response)


# --- Preview -----------------------------------------------------------------------------------------


def test_preview_polls_until_done_then_shows_who_moves_and_goes_stale_after_an_edit(
    client, marketing_admin, draft, django_capture_on_commit_callbacks
):
    web = SourceFactory(name="Website form", slug="website-form")
    lead = LeadFactory(
        first_name="Fiona", last_name="Fintech", industry="fintech", seniority="director", source=web, stage=Stage.NEW
    )
    lead_score(lead=lead)
    rules = copy.deepcopy(draft.rules)
    rules["fit"].append(
        {
            "id": "fintech",
            "label": "Industry is fintech",
            "field": "industry",
            "op": "eq",
            "value": "fintech",
            "points": 30,
        }
    )
    LeadDefinition.objects.filter(pk=draft.pk).update(rules=rules)
    client.force_login(marketing_admin)
    url = reverse("scoring:preview", args=[draft.version])

    page = html_of(client.get(reverse("scoring:version", args=[draft.version])))
    assert 'id="preview-button"' in page
    assert "hx-trigger" not in page.split('id="preview"')[1].split(">")[0]

    # Started: the partial polls itself (the task runs only when the transaction commits).
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = client.post(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in html_of(started)
    assert "Scoring the open leads" in html_of(started)
    for callback in callbacks:
        callback()

    done = html_of(client.get(url, HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in done
    assert re.search(r'id="into-mql">1<', done)
    assert re.search(r'id="out-of-mql">0<', done)
    assert re.search(r"<td>Website form</td><td class=\"num\">1</td><td class=\"num\">0</td>", done)
    assert f'href="{reverse("leads:detail", args=[lead.pk])}">Fiona Fintech</a>' in done
    assert "50 → <strong>80</strong>" in done
    assert "preview-stale" not in done

    data = editor_data(LeadDefinition.objects.get(pk=draft.pk))
    data["fit-6-points"] = "35"
    client.post(reverse("scoring:edit", args=[draft.version]), data)

    assert "The draft has changed since this preview" in html_of(client.get(url, HTTP_HX_REQUEST="true"))
    assert DefinitionPreview.objects.count() == 1


def test_a_preview_without_htmx_redirects_to_the_draft(
    client, marketing_admin, draft, django_capture_on_commit_callbacks
):
    client.force_login(marketing_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scoring:preview", args=[draft.version]))

    assert response.url == reverse("scoring:version", args=[draft.version]) + "#preview"
    page = html_of(client.get(response.url))
    assert re.search(r'id="into-mql">0<', page)
    assert "No open lead would move into or out of MQL." in page


# --- Approvals and publishing -----------------------------------------------------------------------


def test_approve_buttons_are_shown_only_to_those_who_may(client, marketing_admin, sales_admin, marketer, draft):
    client.force_login(marketing_admin)
    html = html_of(client.get(reverse("scoring:version", args=[draft.version])))
    assert "Approve as marketing" in html
    assert "Approve as sales" not in html
    assert re.search(r'id="publish"\s+disabled', html)

    client.force_login(sales_admin)
    html = html_of(client.get(reverse("scoring:version", args=[draft.version])))
    assert "Approve as sales" in html
    assert "Approve as marketing" not in html

    client.force_login(marketer)  # marketing, but not an admin
    html = html_of(client.get(reverse("scoring:version", args=[draft.version])))
    assert "Approve as" not in html
    assert "Waiting for a marketing admin" in html


def test_two_people_approve_and_publish_through_the_pages(
    client, marketing_admin, sales_admin, published, draft, django_capture_on_commit_callbacks
):
    LeadFactory(industry="fintech", stage=Stage.NEW)
    approve = reverse("scoring:approve", args=[draft.version])
    client.force_login(marketing_admin)
    response = client.post(approve, {"side": MARKETING, "note": "Marketing is in"}, follow=True)
    assert "You approved v2 for marketing." in html_of(response)
    # The same person cannot approve for sales too (they are not a sales admin either).
    response = client.post(approve, {"side": SALES}, follow=True)
    assert "Only a sales admin" in html_of(response)

    client.force_login(sales_admin)
    html = html_of(client.post(approve, {"side": SALES}, follow=True))
    assert "Approved by <strong>Ada Moreau</strong>" in html
    assert "Marketing is in" in html
    assert re.search(r'id="publish"\s*>Publish v2', html)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scoring:publish", args=[draft.version]))

    assert response.url == reverse("scoring:version", args=[2]) + "#rescore"
    html = html_of(client.get(response.url))
    assert "v2 is published. Open leads are being rescored under it." in html
    assert re.search(r'id="rescore-done">1</strong> of <span id="rescore-total">1<', html)
    assert "hx-trigger" not in html.split('id="rescore"')[1].split(">")[0]
    draft.refresh_from_db()
    published.refresh_from_db()
    assert (draft.status, draft.published_by) == (Status.PUBLISHED, sales_admin)
    assert published.status == Status.RETIRED
    assert RescoreJob.objects.get().definition == draft
    assert "Ada Moreau (marketing" in html
    assert "Sam Tanaka (sales" in html


def test_publishing_without_both_approvals_says_what_is_missing(client, sales_admin, draft):
    client.force_login(sales_admin)

    response = client.post(reverse("scoring:publish", args=[draft.version]), follow=True)

    assert "v2 needs the approval of marketing and sales before it is published." in html_of(response)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_the_rescore_panel_polls_while_the_job_runs(client, marketing_admin, published):
    job = RescoreJob.objects.create(
        definition=published, reason=RescoreJob.Reason.PUBLISH, leads_total=4000, leads_done=1000
    )
    client.force_login(marketing_admin)

    partial = html_of(client.get(reverse("scoring:rescore", args=[1]), HTTP_HX_REQUEST="true"))

    assert 'hx-trigger="every 1s"' in partial
    assert re.search(r'id="rescore-done">1,000</strong> of <span id="rescore-total">4,000<', partial)
    RescoreJob.objects.filter(pk=job.pk).update(status=RescoreJob.Status.DONE, leads_done=4000, became_mql=12)
    partial = html_of(client.get(reverse("scoring:rescore", args=[1]), HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in partial
    assert "12 became MQLs; 0 fell below the threshold." in partial


# --- Restore, history, compare ----------------------------------------------------------------------


def test_a_retired_version_is_restored_as_a_new_draft(client, marketing_admin):
    old = LeadDefinitionFactory(version=1, status=Status.RETIRED, rules={**DEFAULT_RULES, "thresholds": {"mql": 75}})
    LeadDefinitionFactory(version=2)
    client.force_login(marketing_admin)
    page = html_of(client.get(reverse("scoring:version", args=[1])))
    assert "Restore as new draft" in page

    response = client.post(reverse("scoring:restore", args=[1]))

    restored = LeadDefinition.objects.get(version=3)
    assert response.url == reverse("scoring:edit", args=[3])
    assert (restored.status, restored.based_on, restored.rules) == (Status.DRAFT, old, old.rules)


def test_a_draft_not_based_on_the_published_version_says_publishing_replaces_it(client, marketing_admin):
    old = LeadDefinitionFactory(version=1, status=Status.RETIRED)
    LeadDefinitionFactory(version=2)
    restored = definition_draft_create(author=marketing_admin, based_on=old)
    client.force_login(marketing_admin)

    html = html_of(client.get(reverse("scoring:version", args=[restored.version])))

    assert "This draft starts from v1, not from the published v2" in html
    assert f"{reverse('scoring:compare')}?a=2&amp;b=3" in html


def test_the_history_shows_approvers_and_drafts_waiting(client, marketing_admin, sales_admin, draft):
    definition_approve(definition=draft, user=sales_admin, side=SALES)
    client.force_login(marketing_admin)

    html = html_of(client.get(reverse("scoring:definition")))

    assert "Approved by Sam Tanaka (sales)" in html
    assert "1 of 2 approvals" in html
    assert 'id="new-draft"' in html
    assert '<option value="1" selected>' in html
    assert '<option value="2" selected>' in html


def test_compare_shows_two_versions_side_by_side(client, marketing_admin, published, draft):
    rules = copy.deepcopy(draft.rules)
    rules["fit"] = [rule for rule in rules["fit"] if rule["id"] != "tiny"]
    rules["fit"].append(
        {
            "id": "fintech",
            "label": "Industry is fintech",
            "field": "industry",
            "op": "eq",
            "value": "fintech",
            "points": 30,
        }
    )
    rules["thresholds"]["mql"] = 70
    LeadDefinition.objects.filter(pk=draft.pk).update(rules=rules)
    client.force_login(marketing_admin)

    response = client.get(reverse("scoring:compare"), {"a": 1, "b": 2})

    html = html_of(response)
    assert response.status_code == 200
    assert "1 changed, 1 added, 1 removed." in html
    added = re.search(r'<tr class="diff-row diff-added" data-key="fintech">.*?</tr>', html, re.S).group()
    assert "<ins>Industry is fintech: +30</ins>" in added
    removed = re.search(r'<tr class="diff-row diff-removed" data-key="tiny">.*?</tr>', html, re.S).group()
    assert "<del>Employees is at most 10: -10</del>" in removed
    changed = re.search(r'<tr class="diff-row diff-changed" data-key="mql">.*?</tr>', html, re.S).group()
    assert re.search(r'class="diff-old">\s*60\s*</td>', changed)
    assert re.search(r'class="diff-new">\s*70\s*</td>', changed)
    assert 'id="diff-engagement"' not in html  # no changes there

    everything = html_of(client.get(reverse("scoring:compare"), {"a": 1, "b": 2, "all": "1"}))
    assert 'id="diff-engagement"' in everything
    assert 'class="diff-row diff-same" data-key="pricing"' in everything


def test_compare_without_versions_picks_the_latest_two(client, marketing_admin, published, draft):
    client.force_login(marketing_admin)

    response = client.get(reverse("scoring:compare"))

    assert response.url == reverse("scoring:compare") + "?a=1&b=2"


def test_readers_may_compare(client, rep, published, draft):
    client.force_login(rep)

    assert client.get(reverse("scoring:compare"), {"a": 1, "b": 2}).status_code == 200
