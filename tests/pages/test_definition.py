"""The lead definition page: the published version in plain words, any past version, the history."""

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import LeadDefinition
from tests.factories import LeadDefinitionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(lf_admin, marketer):
    retired = LeadDefinitionFactory(
        version=1, status=LeadDefinition.Status.RETIRED, author=lf_admin, note="The first agreement"
    )
    rules = {**retired.rules, "thresholds": {"mql": 70}}
    published = LeadDefinitionFactory(
        version=2, status=LeadDefinition.Status.PUBLISHED, author=lf_admin, rules=rules, note="Stricter MQL"
    )
    draft = LeadDefinitionFactory(
        version=3, status=LeadDefinition.Status.DRAFT, author=marketer, published_at=None, note="Webinars up"
    )
    return retired, published, draft


def test_definition_page_shows_the_published_version_in_plain_words(client, lf_admin, versions):
    client.force_login(lf_admin)

    response = client.get(reverse("scoring:definition"))

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["definition"] == versions[1]
    assert "v2" in html
    assert 'at <strong class="score">70</strong> points' in html
    # Screening
    assert "rivalcrm.com, pipelinepro.io" in html
    assert "government, education" in html
    # Fit rules: label, condition, points
    assert "Title is VP or above" in html
    assert "Seniority is one of VP, C-level" in html
    assert "Employees is at least 200" in html
    assert '<span class="points pos">+20</span>' in html
    assert '<span class="points neg">-10</span>' in html
    # Engagement rules: activity, points, half-life
    assert "Pricing page visit" in html
    assert "14 days" in html
    # Dedupe and SLA
    assert "at least 92% alike are merged automatically" in html
    assert "Leads scoring 80 or more must be accepted within 2 hours." in html
    assert "Every other lead must be accepted within 24 hours." in html


def test_history_lists_every_version_with_status_author_and_note(client, lf_admin, versions):
    client.force_login(lf_admin)

    response = client.get(reverse("scoring:definition"))

    html = response.content.decode()
    assert [d.version for d in response.context["history"]] == [3, 2, 1]
    for definition in versions:
        assert reverse("scoring:version", args=[definition.version]) in html
        assert definition.note in html
    assert '<span class="badge status-retired">Retired</span>' in html
    assert '<span class="badge status-draft">Draft</span>' in html
    assert lf_admin.get_full_name() in html


def test_a_version_opens_on_its_own_page(client, lf_admin, versions):
    client.force_login(lf_admin)

    response = client.get(reverse("scoring:version", args=[1]))

    assert response.status_code == 200
    assert response.context["definition"] == versions[0]
    html = response.content.decode()
    assert "The first agreement" in html
    assert 'at <strong class="score">60</strong> points' in html


def test_unknown_version_is_404(client, lf_admin, versions):
    client.force_login(lf_admin)

    assert client.get(reverse("scoring:version", args=[99])).status_code == 404


def test_without_a_published_version_the_page_says_so(client, lf_admin):
    LeadDefinitionFactory(version=1, status=LeadDefinition.Status.DRAFT, published_at=None)
    client.force_login(lf_admin)

    html = client.get(reverse("scoring:definition")).content.decode()

    assert "No lead definition is published yet" in html
    assert reverse("scoring:version", args=[1]) in html


def test_admins_see_the_admin_badge_and_others_read_without_it(client, lf_admin, rep, marketer, versions):
    client.force_login(lf_admin)
    assert 'class="badge badge-admin"' in client.get(reverse("scoring:definition")).content.decode()

    for reader in (rep, marketer):
        client.force_login(reader)
        response = client.get(reverse("scoring:definition"))
        assert response.status_code == 200
        assert 'class="badge badge-admin"' not in response.content.decode()


def test_users_without_view_permission_get_403(client):
    client.force_login(UserFactory())

    assert client.get(reverse("scoring:definition")).status_code == 403


def test_published_time_and_publisher_are_shown(client, lf_admin):
    LeadDefinitionFactory(version=5, published_at=timezone.now(), published_by=lf_admin)
    client.force_login(lf_admin)

    assert f"by {lf_admin.get_full_name()}" in client.get(reverse("scoring:definition")).content.decode()
