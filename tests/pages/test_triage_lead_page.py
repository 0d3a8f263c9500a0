"""The lead page for triage: every field grouped, where it came from, the raw submissions as
received, what was kept as entered, and the junk reason with a way back from junk."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from leads.models import ImportJob, Lead, SourceRecord, Stage, StageChange, Submission
from tests.factories import AccountFactory, CampaignFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


def detail_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.pk])


def section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


def test_fields_are_grouped_person_company_address_and_provenance(client, marketer):
    source = SourceFactory(name="Spring fair list", slug="fair")
    job = ImportJob.objects.create(source=source, file="imports/fair.csv", file_name="spring-fair.csv")
    lead = LeadFactory(
        source=source,
        campaign=CampaignFactory(name="Spring fair 2025", source=source),
        account=AccountFactory(name="Engines Ltd"),
        import_job=job,
        first_name="Ada",
        city="London",
        company="Engines",
    )
    Submission.objects.create(source=source, lead=lead, import_job=job, row_number=42, payload={"Name": "Ada"})
    SourceRecord.objects.create(lead=lead, source=source, external_id="row-ada-1")
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()

    details = section(html, "details-h")
    for heading in ("Person", "Company", "Address"):
        assert f'<h3 class="facts-h">{heading}</h3>' in details
    provenance = html[html.index('id="provenance"') : html.index('id="source-records"')]
    assert "Spring fair list" in provenance
    assert "Spring fair 2025" in provenance
    assert f'<a href="{reverse("leads:import_detail", args=[job.pk])}">spring-fair.csv</a>, row 42' in provenance
    assert "Engines Ltd" in provenance
    assert "row-ada-1" in html


def test_the_raw_submissions_are_shown_as_received_with_how_they_came(client, marketer):
    source = SourceFactory(name="Website form", slug="web")
    job = ImportJob.objects.create(source=source, file="imports/x.csv", file_name="partners.xlsx")
    lead = LeadFactory(source=source)
    Submission.objects.create(
        source=source,
        lead=lead,
        payload={"email": "ADA@Engines.example ", "utm_source": "newsletter", "hp": "I am a bot"},
        meta={"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"},
        spam_reason="hidden field 'hp' was filled in",
    )
    Submission.objects.create(
        source=source, lead=lead, payload={"email": "ada@engines.example"}, meta={"via": "api", "user": "zapier"}
    )
    Submission.objects.create(source=source, lead=lead, import_job=job, row_number=7, payload={"E-mail": "ada@x"})
    client.force_login(marketer)

    html = section(client.get(detail_url(lead)).content.decode(), "submissions-h")

    assert '<span class="count">3</span>' in html
    assert '<td><code>email</code></td><td class="break">ADA@Engines.example </td>' in html
    assert '<td><code>utm_source</code></td><td class="break">newsletter</td>' in html
    assert '<td><code>E-mail</code></td><td class="break">ada@x</td>' in html
    assert "Spam: hidden field &#x27;hp&#x27; was filled in" in html
    assert '<span class="badge badge-muted">Web form</span>' in html
    assert "203.0.113.7" in html
    assert '<span class="badge badge-muted">API</span>' in html
    assert "zapier" in html
    assert '<span class="badge badge-muted">Import row 7</span>' in html
    assert "partners.xlsx" in html


def test_a_lead_without_submissions_says_so(client, marketer):
    lead = LeadFactory()
    client.force_login(marketer)

    html = section(client.get(detail_url(lead)).content.decode(), "submissions-h")

    assert "No raw submission is kept for this lead." in html


def test_invalid_values_are_listed_with_their_problem_and_as_entered(client, marketer):
    lead = LeadFactory(
        invalid_fields={
            "phone": {"value": "call me maybe", "problem": "not a phone number"},
            "campaign": {"value": "sprng-fair", "problem": "No campaign with this slug"},
        }
    )
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()

    table = html[html.index('id="invalid-fields"') : html.index("</table>", html.index('id="invalid-fields"'))]
    assert '<td><code>phone</code></td><td>not a phone number</td><td class="break">call me maybe</td>' in table
    assert '<td><code>campaign</code></td><td>No campaign with this slug</td><td class="break">sprng-fair</td>' in table
    assert "Kept exactly as entered" in html


def test_the_junk_reason_is_prominent_with_a_restore_button_for_marketers(client, marketer):
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Competitor domain rivalcrm.com")
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()

    notice = section(html, "junk-notice")
    assert '<p class="junk-reason" id="junk-reason">Competitor domain rivalcrm.com</p>' in notice
    assert f'action="{reverse("leads:stage", args=[lead.pk])}" id="restore-form"' in notice
    assert '<input type="hidden" name="stage" value="new">' in notice
    assert "Restore from junk" in notice


def test_restoring_from_the_lead_page_makes_it_new_and_clears_the_reason(client, marketer):
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Student")
    client.force_login(marketer)

    response = client.post(reverse("leads:stage", args=[lead.pk]), {"stage": Stage.NEW})

    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.junk_reason) == (Stage.NEW, "")
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.actor) == (Stage.JUNK, Stage.NEW, marketer)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Restored from junk: the lead is New again."]
    page = client.get(response.url).content.decode()
    assert 'id="junk-notice"' not in page
    assert "Junk → New" in page


def test_a_rep_sees_the_junk_reason_but_no_restore_button(client, rep):
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Spam", owner=rep)
    client.force_login(rep)

    html = client.get(detail_url(lead)).content.decode()

    assert "Spam" in section(html, "junk-notice")
    assert 'id="restore-form"' not in html


def test_a_merged_junk_lead_offers_no_restore(client, marketer):
    survivor = LeadFactory()
    lead = LeadFactory(stage=Stage.JUNK, junk_reason="Duplicate", status=Lead.Status.MERGED, merged_into=survivor)
    client.force_login(marketer)

    html = client.get(detail_url(lead)).content.decode()

    assert "Duplicate" in section(html, "junk-notice")
    assert 'id="restore-form"' not in html


def test_a_lead_that_is_not_junk_has_no_junk_notice(client, marketer):
    lead = LeadFactory(stage=Stage.MQL)
    client.force_login(marketer)

    assert 'id="junk-notice"' not in client.get(detail_url(lead)).content.decode()


def test_the_lead_page_queries_do_not_grow_with_submissions(client, marketer, django_assert_max_num_queries):
    source = SourceFactory()
    lead = LeadFactory(source=source)
    client.force_login(marketer)
    client.get(detail_url(lead))  # session and permission caches warm
    for number in range(10):
        Submission.objects.create(source=source, lead=lead, payload={"n": str(number)})

    # 15: the page also looks up the lead's opportunity and its open duplicate pairs, and the top bar
    # counts the user's unread notifications (one query each, whatever the lead holds).
    with django_assert_max_num_queries(15):
        assert client.get(detail_url(lead)).status_code == 200
