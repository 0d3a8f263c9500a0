"""The review queue pages: the list, a pair side by side, merge with chosen fields, not a duplicate, who may."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from dedupe.models import DuplicateCandidate, Merge
from leads.models import Lead
from tests.factories import LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db


def _pair(score: float, *, a: dict | None = None, b: dict | None = None) -> DuplicateCandidate:
    earlier = timezone.now() - datetime.timedelta(days=3)
    old = LeadFactory(**{"first_name": "Robert", "last_name": "Smith", "email": "rob@acme.com", **(a or {})})
    Lead.objects.filter(pk=old.pk).update(created_at=earlier)
    new = LeadFactory(**{"first_name": "Bob", "last_name": "Smith", "email": "bob@acme.com", **(b or {})})
    return DuplicateCandidate.objects.create(lead_a=old, lead_b=new, score=score, reasons=["Same last name"])


def test_queue_lists_open_pairs_most_probable_first_filterable_by_source(client, marketer):
    fair = SourceFactory(name="Trade fair", slug="fair")
    low = _pair(0.78)
    high = _pair(0.9, b={"source": fair})
    decided = _pair(0.95)
    decided.status = DuplicateCandidate.Status.DISMISSED
    decided.save()
    client.force_login(marketer)

    html = client.get(reverse("dedupe:queue")).content.decode()
    assert html.index(f'data-pair-id="{high.pk}"') < html.index(f'data-pair-id="{low.pk}"')
    assert f'data-pair-id="{decided.pk}"' not in html
    assert '<span class="count" id="pairs-left">2</span>' in html

    filtered = client.get(reverse("dedupe:queue"), {"source": "fair"}).content.decode()
    assert f'data-pair-id="{high.pk}"' in filtered
    assert f'data-pair-id="{low.pk}"' not in filtered


def test_pair_page_shows_both_leads_differences_and_default_picks(client, marketer):
    pair = _pair(0.86, a={"title": "", "phone": "+14155550101"}, b={"title": "CTO", "phone": ""})
    client.force_login(marketer)

    html = client.get(reverse("dedupe:pair", args=[pair.pk])).content.decode()
    assert "86% match" in html
    assert "Same last name" in html
    assert 'class="pair-row pair-differs" data-field="first_name"' in html
    assert 'class="pair-row pair-one" data-field="title"' in html
    assert 'class="pair-row pair-same" data-field="last_name"' in html
    # Survivorship fills the older lead's empty title from the newer one, and keeps its own phone.
    assert 'name="f_title" value="b" checked' in html
    assert 'name="f_phone" value="a" checked' in html
    assert 'name="survivor" value="a" checked' in html


def test_merge_with_a_chosen_field_moves_on_to_the_next_pair(client, marketer):
    first = _pair(0.9)
    second = _pair(0.8)
    client.force_login(marketer)

    response = client.post(
        reverse("dedupe:merge", args=[first.pk]),
        {"survivor": "a", "f_first_name": "b", "f_email": "a"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("dedupe:pair", args=[second.pk])
    html = response.content.decode()
    assert f'data-pair-id="{second.pk}"' in html
    assert "Merged lead #" in html
    assert '<strong id="pairs-left">1</strong>' in html
    survivor = Lead.objects.get(pk=first.lead_a_id)
    assert survivor.first_name == "Bob"  # chosen from the right
    assert survivor.email == "rob@acme.com"  # kept from the left, over the most recent value
    assert Lead.objects.get(pk=first.lead_b_id).merged_into_id == survivor.pk
    merge = Merge.objects.get(survivor=survivor)
    assert merge.actor == marketer
    assert merge.score == 0.9
    first.refresh_from_db()
    assert first.status == DuplicateCandidate.Status.MERGED


def test_merge_keeping_the_right_lead(client, marketer):
    pair = _pair(0.9)
    client.force_login(marketer)
    response = client.post(reverse("dedupe:merge", args=[pair.pk]), {"survivor": "b"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dedupe:queue")
    assert Lead.objects.get(pk=pair.lead_a_id).merged_into_id == pair.lead_b_id


def test_not_a_duplicate_is_remembered_and_the_pair_leaves_the_queue(client, marketer):
    pair = _pair(0.8)
    client.force_login(marketer)
    response = client.post(reverse("dedupe:dismiss", args=[pair.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("dedupe:queue")
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED
    assert pair.decided_by == marketer
    html = client.get(reverse("dedupe:queue")).content.decode()
    assert "Nothing to review" in html


def test_a_decided_pair_cannot_be_merged(client, marketer):
    pair = _pair(0.8)
    pair.status = DuplicateCandidate.Status.DISMISSED
    pair.save()
    client.force_login(marketer)
    response = client.post(reverse("dedupe:merge", args=[pair.pk]), {"survivor": "a"})
    assert response.status_code == 400
    assert "decided already" in response.content.decode()
    assert Lead.objects.get(pk=pair.lead_b_id).status == Lead.Status.ACTIVE


def test_merge_without_a_survivor_says_so(client, marketer):
    pair = _pair(0.8)
    client.force_login(marketer)
    response = client.post(reverse("dedupe:merge", args=[pair.pk]), {"survivor": "c"})
    assert response.status_code == 400
    assert Lead.objects.get(pk=pair.lead_b_id).status == Lead.Status.ACTIVE


def test_a_rep_may_not_review(client, rep):
    pair = _pair(0.8)
    client.force_login(rep)
    assert client.get(reverse("dedupe:queue")).status_code == 403
    assert client.get(reverse("dedupe:pair", args=[pair.pk])).status_code == 403
    assert client.post(reverse("dedupe:merge", args=[pair.pk]), {"survivor": "a"}).status_code == 403
    assert client.post(reverse("dedupe:dismiss", args=[pair.pk])).status_code == 403
    assert Lead.objects.filter(status=Lead.Status.MERGED).count() == 0
    assert "Duplicates</a>" not in client.get(reverse("routing:queue")).content.decode()


def test_nav_and_lead_page_link_to_the_review(client, marketer):
    pair = _pair(0.8)
    client.force_login(marketer)
    html = client.get(reverse("leads:detail", args=[pair.lead_b_id])).content.decode()
    assert f'href="{reverse("dedupe:queue")}"' in html
    assert 'id="duplicates-notice"' in html
    assert f'href="{reverse("dedupe:pair", args=[pair.pk])}"' in html
    alone = LeadFactory(email="alone@example.com")
    assert 'id="duplicates-notice"' not in client.get(reverse("leads:detail", args=[alone.pk])).content.decode()


# --- Undo ------------------------------------------------------------------------------------------


def test_undo_right_after_a_merge_brings_the_pair_back_for_review(client, marketer):
    first = _pair(0.9)
    second = _pair(0.8)
    client.force_login(marketer)
    merged = client.post(reverse("dedupe:merge", args=[first.pk]), {"survivor": "a"}, HTTP_HX_REQUEST="true")
    merge = Merge.objects.get()
    undo_url = reverse("dedupe:merge_undo", args=[merge.pk])

    response = client.post(undo_url, {"back": "review"}, HTTP_HX_REQUEST="true")

    assert f'action="{undo_url}"' in merged.content.decode()  # offered on the next pair's panel
    assert f'data-pair-id="{second.pk}"' in merged.content.decode()
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("dedupe:pair", args=[first.pk])
    html = response.content.decode()
    assert f'data-pair-id="{first.pk}"' in html
    assert "the pair is back for review" in html
    first.refresh_from_db()
    merge.refresh_from_db()
    assert (first.status, first.decided_by) == (DuplicateCandidate.Status.OPEN, None)
    assert merge.undone_by == marketer
    assert {lead.status for lead in Lead.objects.filter(pk__in=[first.lead_a_id, first.lead_b_id])} == {"active"}


def test_the_queue_page_offers_the_reviewers_last_merge_to_undo(client, marketer, lf_admin):
    pair = _pair(0.9)
    client.force_login(marketer)
    client.post(reverse("dedupe:merge", args=[pair.pk]), {"survivor": "a"})
    merge = Merge.objects.get()

    mine = client.get(reverse("dedupe:queue")).content.decode()
    client.force_login(lf_admin)
    theirs = client.get(reverse("dedupe:queue")).content.decode()
    client.force_login(marketer)
    undone = client.post(reverse("dedupe:merge_undo", args=[merge.pk]), {"back": "review"})
    again = client.post(reverse("dedupe:merge_undo", args=[merge.pk]), {"back": "review"})

    assert reverse("dedupe:merge_undo", args=[merge.pk]) in mine
    assert 'id="last-merge"' not in theirs
    assert undone.status_code == 302
    assert undone["Location"] == reverse("dedupe:pair", args=[pair.pk])
    assert again.status_code == 302
    assert "undone already" in client.get(again["Location"]).content.decode()
    assert 'id="last-merge"' not in client.get(reverse("dedupe:queue")).content.decode()


def test_undo_from_the_lead_page_remembers_the_pair_as_not_a_duplicate(client, marketer, rep):
    pair = _pair(0.9)
    client.force_login(marketer)
    client.post(reverse("dedupe:merge", args=[pair.pk]), {"survivor": "a"})
    merge = Merge.objects.get()
    survivor_page = reverse("leads:detail", args=[pair.lead_a_id])

    html = client.get(survivor_page).content.decode()
    response = client.post(reverse("dedupe:merge_undo", args=[merge.pk]))

    assert f'action="{reverse("dedupe:merge_undo", args=[merge.pk])}"' in html
    assert response.status_code == 302
    assert response["Location"] == survivor_page
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED
    client.force_login(rep)
    assert client.post(reverse("dedupe:merge_undo", args=[merge.pk])).status_code == 403
