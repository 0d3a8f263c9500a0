"""The maintained funnel table (``LeadMilestone``) stays true to the stage changes on every write path.

PostgreSQL triggers keep it; each test writes through a public service (stage moves, conversion and
closing, merges and their undo, imports with ``COPY``, rescoring, deletes), then checks the table
row by row against a recomputation from ``Lead`` and ``StageChange``, and every report that reads it
against the same report computed live from the stage changes (``ReportFilter(live=True)``).
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Iterable
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from dedupe.services import lead_merge, merge_undo
from leads.imports import import_job_create
from leads.lifecycle import lead_convert, opportunity_close
from leads.models import Activity, Lead, LeadDefinition, Opportunity, RescoreJob, Stage, StageChange
from leads.services import lead_change_stage
from reports.models import CohortDay, DurationDay, LeadMilestone, RepDay
from reports.selectors import (
    FUNNEL_STAGES,
    LEAK_STAGES,
    ReportFilter,
    report_alignment,
    report_campaigns,
    report_funnel,
    report_leaks,
    report_reps,
    report_sources,
)
from reports.services import rollups_compact
from routing.models import Rejection
from scoring.rescore import rescore_job_start
from tests.factories import ActivityFactory, LeadDefinitionFactory, LeadFactory
from tests.reports.data import T0

pytestmark = pytest.mark.django_db

MARCH = {"date_from": datetime.date(2026, 3, 1), "date_to": datetime.date(2026, 3, 31)}
REPORTS = (report_funnel, report_sources, report_campaigns, report_alignment, report_reps)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Call a service and run what it queued on commit (import reader, pipeline, rescore chunks)."""

    def call(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def expected_milestones() -> dict[int, tuple]:
    """Every lead's row as the triggers should keep it, recomputed from the leads and their stage changes."""
    firsts: dict[int, dict[str, datetime.datetime]] = {}
    for lead_id, stage, at in StageChange.objects.filter(to_stage__in=FUNNEL_STAGES).values_list(
        "lead_id", "to_stage", "created_at"
    ):
        seen = firsts.setdefault(lead_id, {})
        seen[stage] = min(at, seen.get(stage, at))
    deals: dict[int, tuple[int, Decimal]] = {}
    for lead_id, amount in Opportunity.objects.filter(stage=Opportunity.Stage.WON).values_list("lead_id", "amount"):
        count, revenue = deals.get(lead_id, (0, Decimal("0")))
        deals[lead_id] = (count + 1, revenue + amount)
    rejected: dict[int, dict[str, int]] = {}
    for lead_id, reason in Rejection.objects.values_list("lead_id", "reason"):
        rejected.setdefault(lead_id, dict.fromkeys(Rejection.Reason.values, 0))[reason] += 1
    return {
        lead.pk: (
            lead.created_at,
            lead.status,
            lead.source_id,
            lead.campaign_id,
            lead.accepted_at,
            *(firsts.get(lead.pk, {}).get(stage) for stage in FUNNEL_STAGES),
            *deals.get(lead.pk, (0, Decimal("0"))),
            lead.stage,
            lead.owner_id,
            lead.assigned_at,
            lead.sla_due_at,
            *rejected.get(lead.pk, dict.fromkeys(Rejection.Reason.values, 0)).values(),
        )
        for lead in Lead.objects.all()
    }


def kept_milestones() -> dict[int, tuple]:
    columns = (
        "created_at",
        "status",
        "source_id",
        "campaign_id",
        "accepted_at",
        *(f"{s}_at" for s in FUNNEL_STAGES),
        "won_deals",
        "won_revenue",
        "stage",
        "owner_id",
        "assigned_at",
        "sla_due_at",
        *(f"rejected_{reason}" for reason in Rejection.Reason.values),
    )
    return {row[0]: row[1:] for row in LeadMilestone.objects.values_list("lead_id", *columns)}


COHORT_FIGURES = (
    "leads",
    "accepted",
    *FUNNEL_STAGES,
    "won_deals",
    "won_revenue",
    *(f"in_{stage}" for stage in LEAK_STAGES),
    "mql_sla_open",
    *(f"rejected_{reason}" for reason in Rejection.Reason.values),
)


def cohort_figures(row: LeadMilestone) -> tuple:
    """What one active lead's milestone row adds to its day in ``CohortDay``, in ``COHORT_FIGURES`` order."""
    sla_open = row.stage == Stage.MQL and row.owner_id and not row.accepted_at and row.sla_due_at
    return (
        1,
        int(row.accepted_at is not None),
        *(int(getattr(row, f"{stage}_at") is not None) for stage in FUNNEL_STAGES),
        row.won_deals,
        row.won_revenue,
        *(int(row.stage == stage) for stage in LEAK_STAGES),
        int(bool(sla_open)),
        *(getattr(row, f"rejected_{reason}") for reason in Rejection.Reason.values),
    )


def expected_cohort_days() -> dict[tuple, tuple]:
    """The daily roll-up as the triggers should keep it, added up in Python from the milestone rows."""
    days: dict[tuple, tuple] = {}
    for row in LeadMilestone.objects.filter(status=Lead.Status.ACTIVE):
        key = (row.created_at.astimezone(datetime.UTC).date(), row.source_id, row.campaign_id)
        figures = cohort_figures(row)
        days[key] = tuple(map(sum, zip(days.get(key, (0,) * len(figures)), figures, strict=True)))
    return days


def summed(rows: Iterable[tuple], keys: int) -> dict[tuple, tuple]:
    """The roll-up's rows of changes added up per key (its first ``keys`` columns); keys summing to nothing left out."""
    sums: dict[tuple, tuple] = {}
    for row in rows:
        key, figures = row[:keys], row[keys:]
        sums[key] = tuple(map(sum, zip(sums.get(key, (0,) * len(figures)), figures, strict=True)))
    return {key: figures for key, figures in sums.items() if any(figures)}


def kept_cohort_days() -> dict[tuple, tuple]:
    return summed(CohortDay.objects.values_list("day", "source_id", "campaign_id", *COHORT_FIGURES), 3)


def expected_rep_days() -> dict[tuple, tuple[int, int]]:
    """Per UTC day and owner: the active leads assigned to them and those accepted, from the milestone rows."""
    days: dict[tuple, tuple[int, int]] = {}
    for row in LeadMilestone.objects.filter(
        status=Lead.Status.ACTIVE, owner_id__isnull=False, assigned_at__isnull=False
    ):
        key = (row.created_at.astimezone(datetime.UTC).date(), row.owner_id)
        assigned, accepted = days.get(key, (0, 0))
        days[key] = (assigned + 1, accepted + int(row.accepted_at is not None))
    return days


def kept_rep_days() -> dict[tuple, tuple[int, int]]:
    return summed(RepDay.objects.values_list("day", "owner_id", "assigned", "accepted"), 2)


def expected_duration_days() -> dict[tuple, int]:
    """The duration histogram as the triggers should keep it: per UTC day, step and bucket, from the milestones."""
    counts: dict[tuple, int] = {}
    for row in LeadMilestone.objects.filter(status=Lead.Status.ACTIVE):
        before = row.created_at
        for stage in FUNNEL_STAGES:
            reached = getattr(row, f"{stage}_at")
            if reached is not None and before is not None:
                seconds = (reached - before).total_seconds()
                bucket = (
                    math.floor(8 * math.log(1 + seconds))
                    if seconds >= 0
                    else -1 - math.floor(8 * math.log(1 - seconds))
                )
                key = (row.created_at.astimezone(datetime.UTC).date(), stage, bucket)
                counts[key] = counts.get(key, 0) + 1
            before = reached
    return counts


def kept_duration_days() -> dict[tuple, int]:
    kept = summed(DurationDay.objects.values_list("day", "step", "bucket", "leads"), 3)
    return {key: n for key, (n,) in kept.items()}


def assert_true_to_the_stage_changes(**filters) -> None:
    assert kept_milestones() == expected_milestones()
    assert kept_cohort_days() == expected_cohort_days()
    assert kept_duration_days() == expected_duration_days()
    assert kept_rep_days() == expected_rep_days()
    for report in REPORTS:
        assert report(filters=ReportFilter(**filters)) == report(filters=ReportFilter(**filters, live=True)), report
    now = timezone.now()
    for stuck_days in (0, 1, 14, 400):  # every lead stuck; some; none
        maintained = report_leaks(filters=ReportFilter(**filters, stuck_days=stuck_days), now=now)
        assert maintained == report_leaks(filters=ReportFilter(**filters, stuck_days=stuck_days, live=True), now=now)
    for moment in (T0 + datetime.timedelta(hours=20), T0 + datetime.timedelta(hours=40)):  # L9's SLA due at +29
        maintained = report_leaks(filters=ReportFilter(**filters), now=moment)
        assert maintained == report_leaks(filters=ReportFilter(**filters, live=True), now=moment)


def reached(stage: str, **filters) -> int:
    return next(step.leads for step in report_funnel(filters=ReportFilter(**filters)) if step.stage == stage)


def test_the_table_matches_the_hand_made_data_for_every_filter(report_data):
    assert_true_to_the_stage_changes(**MARCH)
    assert_true_to_the_stage_changes()
    assert_true_to_the_stage_changes(campaign=report_data.spring)
    assert_true_to_the_stage_changes(source=report_data.events)
    assert_true_to_the_stage_changes(**MARCH, territory=report_data.west)


def test_stage_moves_conversion_and_closing_won_move_the_funnel(report_data):
    olga, lead = report_data.olga.user, report_data.leads["L9"]  # an owned MQL at +5
    assert (reached(Stage.SAL), reached(Stage.WON)) == (3, 2)

    lead_change_stage(lead=lead, to_stage=Stage.SAL, actor=olga)
    assert_true_to_the_stage_changes(**MARCH)
    assert reached(Stage.SAL) == 4

    conversion = lead_convert(lead=lead, actor=olga, amount="8000", expected_close_on=timezone.localdate())
    assert_true_to_the_stage_changes(**MARCH)
    assert (reached(Stage.SQL), reached(Stage.OPPORTUNITY)) == (4, 4)

    opportunity_close(opportunity=conversion.opportunity, outcome=Opportunity.Stage.WON, actor=olga, amount="9000")
    assert_true_to_the_stage_changes(**MARCH)
    assert reached(Stage.WON) == 3
    row = LeadMilestone.objects.get(pk=lead.pk)
    assert row.won_at == StageChange.objects.get(lead=lead, to_stage="won").created_at
    assert (row.won_deals, row.won_revenue) == (1, Decimal("9000"))
    summer = next(row for row in report_campaigns(filters=ReportFilter(**MARCH)) if row.key == "summer")
    assert (summer.won, summer.revenue) == (1, Decimal("9000"))


def test_a_merged_lead_drops_out_with_its_stage_changes_moved_and_undo_puts_both_back(report_data):
    survivor, merged = report_data.leads["L4"], report_data.leads["L3"]  # L3 became an MQL at +1; L4 never moved
    before = kept_milestones()

    merge = lead_merge(survivor=survivor, merged=merged, actor=None)
    assert_true_to_the_stage_changes(**MARCH)
    assert LeadMilestone.objects.get(pk=merged.pk).status == Lead.Status.MERGED
    moved = LeadMilestone.objects.get(pk=survivor.pk)
    assert moved.mql_at == T0 + datetime.timedelta(hours=1)  # the merged lead's MQL move now counts for L4
    assert reached(Stage.MQL, **MARCH) == 5  # L1, L2, L4 (from L3), L5, L9: L3 itself no longer counts

    merge_undo(merge=merge, actor=None)
    assert_true_to_the_stage_changes(**MARCH)
    assert kept_milestones() == before


def test_imported_leads_written_with_copy_are_in_the_table(run):
    LeadDefinitionFactory()
    header = "external_id,first_name,last_name,email,title,company,website,industry,employees,country\n"
    rows = "".join(
        f"x-{n},Ann{n},Lee,ann{n}@acme{n}.com,VP Marketing,Acme {n},acme{n}.com,software,500,US\n" for n in range(6)
    )
    upload = SimpleUploadedFile("leads.csv", (header + rows).encode())
    from tests.factories import SourceFactory

    run(import_job_create, source=SourceFactory(slug="fair"), upload=upload)

    assert Lead.objects.count() == 6
    assert_true_to_the_stage_changes()
    assert LeadMilestone.objects.count() == 6


def test_rescoring_that_qualifies_a_lead_sets_its_mql_time(run):
    LeadDefinitionFactory(rules={"fit": []}, status=LeadDefinition.Status.RETIRED, retired_at=timezone.now())
    published = LeadDefinitionFactory(
        rules={
            "fit": [{"id": "vp", "label": "VP", "field": "seniority", "op": "eq", "value": "vp", "points": 30}],
            "engagement": [{"id": "w", "activity": "webinar", "label": "Webinar", "points": 40, "half_life_days": 30}],
            "thresholds": {"mql": 60},
        }
    )
    rising = LeadFactory(stage=Stage.NURTURE, seniority="vp")
    ActivityFactory(lead=rising, kind=Activity.Kind.WEBINAR)
    falling = LeadFactory(stage=Stage.MQL, score=80)
    StageChange.objects.create(lead=falling, from_stage=Stage.NEW, to_stage=Stage.MQL)
    assert LeadMilestone.objects.get(pk=rising.pk).mql_at is None

    run(rescore_job_start, definition=published, reason=RescoreJob.Reason.PUBLISH)

    assert Lead.objects.get(pk=rising.pk).stage == Stage.MQL
    assert LeadMilestone.objects.get(pk=rising.pk).mql_at is not None
    assert LeadMilestone.objects.get(pk=falling.pk).mql_at is not None  # fell back to nurture: it was an MQL
    assert_true_to_the_stage_changes()


def test_deleting_stage_changes_or_a_lead_recomputes_or_removes_its_row(report_data):
    lead = report_data.leads["L1"]
    StageChange.objects.filter(lead=lead, to_stage__in=[Stage.WON, Stage.OPPORTUNITY]).delete()
    assert_true_to_the_stage_changes(**MARCH)
    row = LeadMilestone.objects.get(pk=lead.pk)
    assert (row.opportunity_at, row.won_at, row.sql_at) == (None, None, T0 + datetime.timedelta(hours=30))

    lonely = report_data.leads["L4"]
    Lead.objects.filter(pk=lonely.pk).delete()
    assert not LeadMilestone.objects.filter(pk=lonely.pk).exists()
    assert_true_to_the_stage_changes(**MARCH)


def test_a_deal_deleted_or_its_amount_corrected_changes_the_revenue(report_data):
    Opportunity.objects.filter(lead=report_data.leads["L5"]).update(amount=Decimal("31000"))
    Opportunity.objects.filter(lead=report_data.leads["L1"]).delete()
    assert_true_to_the_stage_changes(**MARCH)
    assert [(row.key, row.won, row.revenue) for row in report_sources(filters=ReportFilter(**MARCH))] == [
        ("events", 1, Decimal("31000")),
        ("web", 0, Decimal("0")),
    ]


def test_a_lead_moved_to_another_campaign_or_date_moves_in_the_reports(report_data):
    lead = report_data.leads["L3"]
    Lead.objects.filter(pk=lead.pk).update(campaign=report_data.spring, created_at=T0 - datetime.timedelta(days=60))
    assert_true_to_the_stage_changes(**MARCH)
    assert_true_to_the_stage_changes(campaign=report_data.spring)
    assert reached(Stage.MQL, **MARCH) == 4


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_days_in_another_time_zone_take_their_partial_utc_days_from_the_milestones(report_data):
    # Tokyo's 2-3 March is 1 March 15:00 to 3 March 15:00 UTC: 2 March (UTC) whole from the roll-up,
    # the hours on 1 and 3 March from the milestone table.
    days = {"date_from": datetime.date(2026, 3, 2), "date_to": datetime.date(2026, 3, 3)}
    web = report_data.web
    # UTC: 1 Mar 14:30 (out: 23:30 in Tokyo), 1 Mar 19:00, 3 Mar 10:00 and 14:54 (in), 3 Mar 15:00 (out).
    for hours in (-18.5, -14, 25, 29.9, 30):
        lead = LeadFactory(source=web)
        Lead.objects.filter(pk=lead.pk).update(created_at=T0 + datetime.timedelta(hours=hours))
    assert_true_to_the_stage_changes(**days)
    assert reached("new", **days) == 7 + 3  # March's seven at T0 (2 March 09:00 UTC) and three of the five
    assert_true_to_the_stage_changes(date_from=datetime.date(2026, 3, 2), date_to=datetime.date(2026, 3, 2))
    assert (
        reached("new", date_from=datetime.date(2026, 3, 2), date_to=datetime.date(2026, 3, 2)) == 7 + 1
    )  # 2 March in Tokyo: 1 Mar 15:00 to 2 Mar 15:00 UTC, no whole UTC day


def test_medians_are_exact_when_many_durations_share_a_bucket(report_data):
    # 41 more MQLs on 2 March, 100 to 140 minutes after arriving: a handful of buckets hold them all.
    web = report_data.web
    for n in range(41):
        lead = LeadFactory(source=web)
        Lead.objects.filter(pk=lead.pk).update(created_at=T0)
        change = StageChange.objects.create(lead=lead, from_stage=Stage.NEW, to_stage=Stage.MQL)
        StageChange.objects.filter(pk=change.pk).update(created_at=T0 + datetime.timedelta(minutes=100 + n, seconds=n))
    assert_true_to_the_stage_changes(**MARCH)
    # March's five MQLs and these: 46, an even count, so the two middle durations averaged.
    hours = [1, 2, 3, 4, 5] + [(100 * 60 + n * 61) / 3600 for n in range(41)]
    mql = next(step for step in report_funnel(filters=ReportFilter(**MARCH)) if step.stage == Stage.MQL)
    assert mql.median_hours_from_previous == round(statistics.median(hours), 2)
    # 45, an odd count: the middle one.
    StageChange.objects.filter(lead=report_data.leads["L9"]).delete()
    hours.remove(5)
    assert_true_to_the_stage_changes(**MARCH)
    mql = next(step for step in report_funnel(filters=ReportFilter(**MARCH)) if step.stage == Stage.MQL)
    assert mql.median_hours_from_previous == round(statistics.median(hours), 2)


def test_rejections_added_changed_moved_or_deleted_change_the_alignment(report_data):
    lead, other = report_data.leads["L2"], report_data.leads["L6"]
    added = Rejection.objects.create(lead=lead, rep=report_data.olga, source=lead.source, reason="junk")
    assert_true_to_the_stage_changes(**MARCH)
    web = next(row for row in report_alignment(filters=ReportFilter(**MARCH)) if row.key == "web")
    assert (web.rejected, web.reasons["junk"]) == (2, 1)  # L3's "not a fit" and this one

    Rejection.objects.filter(pk=added.pk).update(reason="duplicate")
    assert_true_to_the_stage_changes(**MARCH)
    Rejection.objects.filter(pk=added.pk).update(lead=other)  # now counts for the events source
    assert_true_to_the_stage_changes(**MARCH)
    events = next(row for row in report_alignment(filters=ReportFilter(**MARCH)) if row.key == "events")
    assert (events.rejected, events.reasons["duplicate"]) == (2, 1)

    Rejection.objects.filter(lead=report_data.leads["L5"]).delete()
    assert_true_to_the_stage_changes(**MARCH)
    assert LeadMilestone.objects.get(pk=report_data.leads["L5"].pk).rejected_wrong_territory == 0


def test_rep_medians_are_exact_over_many_accepted_leads(report_data):
    rick = report_data.rick
    hours = [4, 10]  # L1, L2
    for n in range(30):
        assigned = T0 + datetime.timedelta(hours=1)
        LeadFactory(source=report_data.web, owner=rick.user)
        lead = Lead.objects.latest("pk")
        response = datetime.timedelta(minutes=90 + 7 * n)
        Lead.objects.filter(pk=lead.pk).update(created_at=T0, assigned_at=assigned, accepted_at=assigned + response)
        hours.append(response.total_seconds() / 3600)
    assert_true_to_the_stage_changes(**MARCH)
    row = next(row for row in report_reps(filters=ReportFilter(**MARCH)) if row.rep == rick.user.username)
    assert (row.assigned, row.accepted) == (32, 32)
    assert row.median_response_hours == round(statistics.median(hours), 2)


def test_compacting_folds_each_keys_rows_into_one_and_changes_no_figure(report_data):
    lead = report_data.leads["L9"]
    lead_change_stage(lead=lead, to_stage=Stage.SAL, actor=report_data.olga.user)
    Lead.objects.filter(pk=report_data.leads["L4"].pk).update(status=Lead.Status.MERGED, merged_into=lead)
    before = (kept_cohort_days(), kept_duration_days(), kept_rep_days())
    figures = [report(filters=ReportFilter(**MARCH)) for report in REPORTS]
    assert CohortDay.objects.count() > len(before[0])  # rows of changes beside the first ones

    assert rollups_compact() > 0

    assert (kept_cohort_days(), kept_duration_days(), kept_rep_days()) == before
    assert CohortDay.objects.count() == len(before[0])
    assert DurationDay.objects.count() == len(before[1])
    assert RepDay.objects.count() == len(before[2])
    assert [report(filters=ReportFilter(**MARCH)) for report in REPORTS] == figures
    assert_true_to_the_stage_changes(**MARCH)
    assert rollups_compact() == 0  # nothing left to fold


def test_beat_compacts_the_rollups_through_its_task(report_data, settings):
    from reports.tasks import rollups_compact_task

    assert settings.CELERY_BEAT_SCHEDULE["reports-rollups-compact"]["task"] == rollups_compact_task.name
    survivor = report_data.leads["L1"]
    Lead.objects.filter(pk=report_data.leads["L4"].pk).update(status=Lead.Status.MERGED, merged_into=survivor)
    assert rollups_compact_task.delay().get() > 0
    assert_true_to_the_stage_changes(**MARCH)
