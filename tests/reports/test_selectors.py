"""Each report figure on the hand-made data set of ``conftest.py``, with the numbers worked out by hand."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from reports.selectors import (
    ReportFilter,
    report_alignment,
    report_campaigns,
    report_funnel,
    report_leaks,
    report_load,
    report_reps,
    report_sources,
)
from tests.reports.data import T0

pytestmark = pytest.mark.django_db

MARCH = {"date_from": datetime.date(2026, 3, 1), "date_to": datetime.date(2026, 3, 31)}


def funnel_table(filters: ReportFilter) -> list[tuple]:
    return [(s.stage, s.leads, s.conversion_rate, s.median_hours_from_previous) for s in report_funnel(filters=filters)]


def test_funnel_counts_each_stage_reached_with_conversion_and_median_hours(report_data):
    # 7 leads in March (L7 is older, L8 merged). MQL: L1 2h, L2 4h, L3 1h, L5 3h, L9 5h -> median 3.
    # SAL: L1 +4h, L2 +10h, L5 +2h -> median 4. SQL: 24, 24, 4. Opportunity: 24, 24, 12. Won: L1 48, L5 24.
    assert funnel_table(ReportFilter(**MARCH)) == [
        ("new", 7, None, None),
        ("mql", 5, 0.7143, 3.0),
        ("sal", 3, 0.6, 4.0),
        ("sql", 3, 1.0, 24.0),
        ("opportunity", 3, 1.0, 24.0),
        ("won", 2, 0.6667, 36.0),
    ]


def test_funnel_without_dates_counts_every_active_lead(report_data):
    assert funnel_table(ReportFilter())[0] == ("new", 8, None, None)  # L7 too; the merged L8 never


def test_funnel_by_campaign_source_and_territory(report_data):
    spring = funnel_table(ReportFilter(**MARCH, campaign=report_data.spring))
    assert spring == [
        ("new", 2, None, None),
        ("mql", 2, 1.0, 3.0),  # 2h and 4h
        ("sal", 2, 1.0, 7.0),  # 4h and 10h
        ("sql", 2, 1.0, 24.0),
        ("opportunity", 2, 1.0, 24.0),
        ("won", 1, 0.5, 48.0),
    ]
    events = funnel_table(ReportFilter(**MARCH, source=report_data.events))
    assert [row[1] for row in events] == [2, 1, 1, 1, 1, 1]
    west = funnel_table(ReportFilter(**MARCH, territory=report_data.west))  # L3, L5, L9
    assert [row[1] for row in west] == [3, 3, 1, 1, 1, 1]
    assert west[1] == ("mql", 3, 1.0, 3.0)  # 1h, 3h, 5h


def test_sources_yield_revenue_and_cost(report_data):
    rows = {row.key: row for row in report_sources(filters=ReportFilter(**MARCH))}
    assert set(rows) == {"web", "events"}  # the partner source brought no leads
    web, events = rows["web"], rows["events"]
    # web: L1 L2 L3 L4 L9; MQLs L1 L2 L3 L9; accepted L1 L2; won L1 (12,000); cost 1,000 + 500.
    assert (web.leads, web.mqls, web.accepted, web.won) == (5, 4, 2, 1)
    assert (web.revenue, web.cost) == (Decimal("12000.00"), Decimal("1500.00"))
    assert (web.cost_per_lead, web.cost_per_mql, web.cost_per_won) == (
        Decimal("300.00"),
        Decimal("375.00"),
        Decimal("1500.00"),
    )
    assert web.return_on_spend == 8.0
    assert (events.leads, events.mqls, events.accepted, events.won, events.revenue) == (2, 1, 1, 1, Decimal("30000.00"))
    assert (events.cost, events.cost_per_lead, events.cost_per_mql, events.cost_per_won) == (
        Decimal("3000.00"),
        Decimal("1500.00"),
        Decimal("3000.00"),
        Decimal("3000.00"),
    )
    assert events.return_on_spend == 10.0


def test_campaigns_yield_including_the_leads_with_none(report_data):
    rows = report_campaigns(filters=ReportFilter(**MARCH))
    assert [row.name for row in rows] == ["Expo 2026", "Spring webinar", "Summer promo", "No campaign"]
    by_name = {row.name: row for row in rows}
    spring, summer, none = by_name["Spring webinar"], by_name["Summer promo"], by_name["No campaign"]
    assert (spring.leads, spring.mqls, spring.accepted, spring.won, spring.revenue) == (2, 2, 2, 1, Decimal("12000.00"))
    assert (spring.cost_per_lead, spring.cost_per_mql, spring.cost_per_won, spring.return_on_spend) == (
        Decimal("500.00"),
        Decimal("500.00"),
        Decimal("1000.00"),
        12.0,
    )
    # Summer brought two MQLs and nothing won: no cost per won deal, and a return of 0.
    assert (summer.leads, summer.mqls, summer.won, summer.revenue) == (2, 2, 0, Decimal("0.00"))
    assert (summer.cost_per_lead, summer.cost_per_won, summer.return_on_spend) == (Decimal("250.00"), None, 0.0)
    assert (none.key, none.leads, none.cost, none.cost_per_lead, none.return_on_spend) == (
        "",
        1,
        Decimal("0.00"),
        Decimal("0.00"),
        None,
    )


def test_alignment_counts_acceptances_and_rejection_reasons_per_source(report_data):
    rows = {row.key: row for row in report_alignment(filters=ReportFilter(**MARCH))}
    assert (rows["web"].accepted, rows["web"].rejected, rows["web"].acceptance_rate) == (2, 1, 0.6667)
    assert rows["web"].reasons["not_a_fit"] == 1
    assert sum(rows["web"].reasons.values()) == 1
    # L5 was turned down by rick (wrong territory), then accepted by olga: one decision each way.
    assert (rows["events"].accepted, rows["events"].rejected, rows["events"].acceptance_rate) == (1, 1, 0.5)
    assert rows["events"].reasons == {
        "wrong_territory": 1,
        "not_a_fit": 0,
        "duplicate": 0,
        "junk": 0,
        "not_ready": 0,
    }


def test_reps_response_times_and_sla_breaches(report_data):
    rows = {row.rep: row for row in report_reps(filters=ReportFilter(**MARCH))}
    # rick: L1 accepted 4h after assignment, L2 10h -> median 7; one breach. olga: L5 2h; L9 not accepted.
    assert (rows["rick"].assigned, rows["rick"].accepted, rows["rick"].median_response_hours) == (2, 2, 7.0)
    assert rows["rick"].sla_breaches == 1
    assert (rows["olga"].assigned, rows["olga"].accepted, rows["olga"].median_response_hours) == (2, 1, 2.0)
    assert rows["olga"].sla_breaches == 0
    assert rows["rick"].name == "Rick Santos"


def test_reps_follow_the_source_filter(report_data):
    rows = {row.rep: row for row in report_reps(filters=ReportFilter(**MARCH, source=report_data.events))}
    assert set(rows) == {"olga"}
    assert (rows["olga"].assigned, rows["olga"].accepted, rows["olga"].median_response_hours) == (1, 1, 2.0)


def test_load_is_each_reps_unworked_leads_against_capacity(report_data):
    rows = {row.rep: row for row in report_load(filters=ReportFilter())}
    assert (rows["olga"].open_leads, rows["olga"].max_open_leads, rows["olga"].utilisation) == (1, 25, 0.04)
    assert (rows["rick"].open_leads, rows["rick"].utilisation) == (0, 0.0)
    west = report_load(filters=ReportFilter(territory=report_data.west))
    assert [row.rep for row in west] == ["olga"]


def test_leaks_stuck_in_stage_and_untouched_past_sla(report_data):
    now = T0 + datetime.timedelta(days=20)
    rows = {row.stage: row for row in report_leaks(filters=ReportFilter(**MARCH), now=now)}
    assert (rows["new"].leads, rows["new"].stuck) == (1, 1)  # L4, never moved since T0
    assert (rows["mql"].leads, rows["mql"].stuck, rows["mql"].past_sla_untouched) == (2, 2, 1)  # L3, L9; L9 owned
    assert all(rows[stage].leads == 0 for stage in ("nurture", "sal", "sql", "opportunity"))
    patient = {row.stage: row for row in report_leaks(filters=ReportFilter(**MARCH, stuck_days=30), now=now)}
    assert (patient["mql"].leads, patient["mql"].stuck, patient["mql"].past_sla_untouched) == (2, 0, 1)


def test_medians_without_percentile_cont_match(report_data, monkeypatch):
    """SQLite (``make run``) has no percentile_cont: the medians taken in Python give the same figures."""
    expected_funnel = funnel_table(ReportFilter(**MARCH))
    expected_reps = report_reps(filters=ReportFilter(**MARCH))
    monkeypatch.setattr("reports.selectors._has_percentile", lambda: False)
    assert funnel_table(ReportFilter(**MARCH)) == expected_funnel
    assert report_reps(filters=ReportFilter(**MARCH)) == expected_reps
