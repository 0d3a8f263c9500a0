"""``GET /api/reports/<name>/``: the figures as JSON, the filters validated, marketing and admins only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.factories import LeadFactory
from tests.reports.data import MARCH

pytestmark = pytest.mark.django_db

NAMES = ["funnel", "sources", "campaigns", "alignment", "reps", "load", "leaks"]


@pytest.fixture
def as_marketer(api_client, marketer):
    api_client.force_authenticate(marketer)
    return api_client


def test_funnel_as_json_with_the_filters_applied(as_marketer, report_data):
    answer = as_marketer.get("/api/reports/funnel/", {**MARCH, "campaign": "spring"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["report"] == "funnel"
    assert body["filters"] == {
        "date_from": "2026-03-01",
        "date_to": "2026-03-31",
        "source": None,
        "campaign": "spring",
        "territory": None,
        "stuck_days": 14,
    }
    assert [(row["stage"], row["leads"]) for row in body["rows"]] == [
        ("new", 2),
        ("mql", 2),
        ("sal", 2),
        ("sql", 2),
        ("opportunity", 2),
        ("won", 1),
    ]
    assert body["rows"][2]["median_hours_from_previous"] == 7.0


def test_without_dates_the_last_90_days(as_marketer, report_data):
    LeadFactory(source=report_data.web)  # created today; the data set's leads are from March 2026
    today = timezone.localdate()
    body = as_marketer.get("/api/reports/funnel/").json()
    assert body["filters"]["date_from"] == (today - datetime.timedelta(days=89)).isoformat()
    assert body["filters"]["date_to"] == today.isoformat()
    assert body["rows"][0]["leads"] == 1
    since_2020 = as_marketer.get("/api/reports/funnel/", {"date_from": "2020-01-01"}).json()
    assert (since_2020["filters"]["date_to"], since_2020["rows"][0]["leads"]) == (
        None,
        9,
    )  # the 8 active leads of the data set and today's


def test_sources_money_as_decimal_strings(as_marketer, report_data):
    rows = {row["key"]: row for row in as_marketer.get("/api/reports/sources/", MARCH).json()["rows"]}
    assert rows["web"]["revenue"] == "12000.00"
    assert rows["web"]["cost_per_mql"] == "375.00"
    assert rows["web"]["return_on_spend"] == 8.0
    assert rows["events"]["cost_per_won"] == "3000.00"


def test_territory_filter_and_alignment_reasons(as_marketer, report_data):
    rows = as_marketer.get("/api/reports/alignment/", {**MARCH, "territory": "west"}).json()["rows"]
    # West holds L3 (rejected, not a fit), L5 (rejected once, then accepted) and L9.
    assert [(row["key"], row["accepted"], row["rejected"]) for row in rows] == [("events", 1, 1), ("web", 0, 1)]
    assert rows[1]["reasons"]["not_a_fit"] == 1


def test_every_report_answers_for_admins(api_client, lf_admin, report_data):
    api_client.force_authenticate(lf_admin)
    for name in NAMES:
        answer = api_client.get(f"/api/reports/{name}/", MARCH)
        assert answer.status_code == 200, (name, answer.content)
        assert answer.json()["rows"], name


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"date_from": "2026-13-01"}, "date_from", "Date has wrong format"),
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "date_to", "on or after the start date"),
        ({"source": "nowhere"}, "source", "does not exist"),
        ({"campaign": "nope"}, "campaign", "does not exist"),
        ({"territory": "mars"}, "territory", "does not exist"),
        ({"stuck_days": "0"}, "stuck_days", "greater than or equal to 1"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(as_marketer, report_data, params, field, words):
    answer = as_marketer.get("/api/reports/sources/", params)
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert words in " ".join(answer.json()[field])


def test_reps_get_403_and_anonymous_callers_401(api_client, report_data):
    assert api_client.get("/api/reports/funnel/").status_code in (401, 403)
    api_client.force_authenticate(report_data.rick.user)
    answer = api_client.get("/api/reports/funnel/")
    assert answer.status_code == 403
    assert "reports permission" in answer.json()["detail"]


def test_token_auth_works_for_integrations(api_client, marketer, report_data):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=marketer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/reports/leaks/", MARCH).status_code == 200
