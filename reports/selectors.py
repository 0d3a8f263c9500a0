"""Every figure of the dashboard and the reports API, each one or two aggregate queries.

All figures describe one **cohort**: the active leads that arrived in the filter's date range
(by ``Lead.created_at``, whole days in ``TIME_ZONE``), optionally of one source, one campaign and
one territory (a lead is in a territory when routing ever assigned it there). Events about those
leads (stage changes, rejections, SLA breaches, opportunities) count with their lead, so every
panel answers for the same leads. Rep load is the exception: it is the reps' load right now.

Nothing here loops over leads in Python: each figure is grouped SQL (conditional ``COUNT``/``SUM``
with ``FILTER``, ``percentile_cont`` for medians on PostgreSQL). SQLite, which ``make run`` uses,
has no ``percentile_cont``: there the medians are taken in Python from one narrow query.

On PostgreSQL every report but rep load reads ``reports.LeadMilestone``, one row per lead kept true
by triggers, and its daily roll-ups ``CohortDay``, ``RepDay`` and ``DurationDay`` (see
``reports/models.py``): a date range adds up its days, and the medians take two passes (bucket
counts, then one bucket read through an index); ``ReportFilter(live=True)``, and SQLite always,
compute the same figures from the leads, stage changes, rejections and opportunities instead.
"""

from __future__ import annotations

import contextlib
import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Aggregate, Count, Exists, F, FloatField, Func, Min, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from leads.models import Campaign, Lead, Opportunity, Source, Stage, StageChange
from reports.models import CohortDay, DurationDay, LeadMilestone, RepDay
from routing.models import Assignment, Rejection, Rep, SlaBreach, Territory
from routing.selectors import rep_load

#: The funnel's steps in order: every lead starts at "new"; the others count leads that ever entered them.
FUNNEL_STAGES: tuple[str, ...] = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON)
#: Stages a lead can be stuck in (open work in marketing's or sales' hands).
LEAK_STAGES: tuple[str, ...] = (Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
DEFAULT_STUCK_DAYS = 14
_HOUR = 3600.0
#: An owned MQL nobody accepted that has an SLA due time: "untouched past SLA" once that time passes.
_SLA_OPEN_Q = Q(stage=Stage.MQL, owner_id__isnull=False, accepted_at__isnull=True, sla_due_at__isnull=False)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """What every figure is narrowed by. Dates are inclusive calendar days."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    source: Source | None = None
    campaign: Campaign | None = None
    territory: Territory | None = None
    stuck_days: int = DEFAULT_STUCK_DAYS
    #: Compute the funnel from the stage changes instead of the maintained ``LeadMilestone`` table
    #: (the reference the table is checked against; SQLite always does).
    live: bool = False
    #: Figures shared by several reports, computed once per filter (the dashboard asks for them all).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def lead_q(self, prefix: str = "") -> Q:
        """The cohort as a ``Q`` on ``Lead`` (``prefix`` e.g. ``"lead__"`` from a related model)."""
        conditions: dict[str, Any] = {f"{prefix}status": Lead.Status.ACTIVE}
        if self.date_from is not None:
            conditions[f"{prefix}created_at__gte"] = day_start(self.date_from)
        if self.date_to is not None:
            conditions[f"{prefix}created_at__lt"] = day_start(self.date_to + datetime.timedelta(days=1))
        if self.source is not None:
            conditions[f"{prefix}source_id"] = self.source.pk
        if self.campaign is not None:
            conditions[f"{prefix}campaign_id"] = self.campaign.pk
        if self.territory is not None:
            # Uses the index on Assignment.territory; one lead routed twice in it still counts once.
            in_territory = Assignment.objects.filter(territory_id=self.territory.pk)
            if self.date_from is not None:  # assigned after it was created
                in_territory = in_territory.filter(created_at__gte=day_start(self.date_from))
            in_territory = in_territory.values("lead_id")
            conditions[f"{prefix}pk__in"] = in_territory
        return Q(**conditions)

    @property
    def maintained(self) -> bool:
        """Whether the funnel comes from ``LeadMilestone`` (kept by PostgreSQL triggers) rather than live."""
        return not self.live and _has_percentile()

    def leads(self) -> QuerySet[Lead]:
        return Lead.objects.filter(self.lead_q()).order_by()

    def events_q(self, time_field: str = "created_at") -> Q:
        """The cohort's leads from an event model (stage change, rejection...) whose ``time_field`` says when.

        An event cannot happen before its lead was created, so with a start date the event's own
        indexed time column can skip every older event before the join to the leads.
        """
        q = self.lead_q("lead__")
        if self.date_from is not None:
            q &= Q(**{f"{time_field}__gte": day_start(self.date_from)})
        return q


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the site's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- SQL helpers ------------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``: the median of a numeric expression (NULLs ignored)."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class EpochSeconds(Func):
    """Seconds in an interval (``later - earlier``), as a float.

    ``date_part`` rather than ``EXTRACT``: since PostgreSQL 14 ``EXTRACT`` returns ``numeric``, and
    sorting a million numerics for a median takes twice as long as sorting floats.
    """

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()


def _has_percentile() -> bool:
    return connection.vendor == "postgresql"


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / _HOUR, 2)


def _ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    return None if not whole else round(float(part) / float(whole), 4)


def _money_per(cost: Decimal, count: int) -> Decimal | None:
    return None if not count else (cost / count).quantize(Decimal("0.01"))


def _python_median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# --- Funnel -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunnelStep:
    stage: str
    label: str
    leads: int
    #: Share of the previous step's leads that reached this one (None for the first step).
    conversion_rate: float | None
    #: Median hours from entering the previous step to entering this one, over leads that did both.
    median_hours_from_previous: float | None


@dataclass(slots=True)
class _Reach:
    """How many leads entered each funnel stage, and (when asked) the median seconds from the step before."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FUNNEL_STAGES, 0))
    medians: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(FUNNEL_STAGES))


_PAIRS: tuple[tuple[str, str], ...] = tuple(zip(("new", *FUNNEL_STAGES), FUNNEL_STAGES, strict=False))


def _funnel_reach(filters: ReportFilter, *, medians: bool) -> tuple[_Reach, dict[tuple[int, int | None], _Reach]]:
    """Funnel counts in total and per (source, campaign), in one query over the cohort's stage changes.

    Per lead, the first time it entered each funnel stage; then, on PostgreSQL, those rows are
    counted once for the whole cohort, with the medians (``percentile_cont``) when ``medians``, and
    once per (source, campaign). The sources and campaigns reports take
    their MQL counts from here, so the dashboard joins the stage changes to the leads once.
    """
    cached = filters.memo.get("reach")
    if cached is not None and (cached[0] or not medians):
        return cached[1], cached[2]
    if filters.maintained:
        total, groups = _milestone_reach(filters, medians=medians)
        filters.memo["reach"] = (medians, total, groups)
        return total, groups
    firsts = {f"{stage}_at": Min("created_at", filter=Q(to_stage=stage)) for stage in FUNNEL_STAGES}
    per_lead = (
        StageChange.objects.filter(filters.events_q(), to_stage__in=FUNNEL_STAGES)
        .order_by()
        .values("lead_id")
        .annotate(source=F("lead__source_id"), campaign=F("lead__campaign_id"))
        .annotate(new_at=Min("lead__created_at"), **firsts)
    )
    total = _Reach()
    groups: dict[tuple[int, int | None], _Reach] = defaultdict(_Reach)
    if _has_percentile():
        sql, params = per_lead.query.sql_with_params()
        quote = connection.ops.quote_name
        counts = ", ".join(f"count({quote(stage + '_at')})" for stage in FUNNEL_STAGES)
        middles = ", ".join(
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM "
            f"{quote(stage + '_at')} - {quote(before + '_at')}))"
            for before, stage in _PAIRS
        )
        nothing = ", ".join("NULL::float" for _ in _PAIRS)
        with connection.cursor() as cursor:
            # The per-lead rows once (MATERIALIZED), read twice: the whole cohort with its medians,
            # then the counts per (source, campaign). Only our own column names and the ORM's SQL
            # go into the text; every value is a parameter.
            cursor.execute(
                f"WITH per_lead AS MATERIALIZED ({sql}) "
                f"SELECT true, NULL::bigint, NULL::bigint, {counts}, {middles if medians else nothing} FROM per_lead "
                f"UNION ALL SELECT false, source, campaign, {counts}, {nothing} "
                "FROM per_lead GROUP BY source, campaign",
                params,
            )
            for is_total, source, campaign, *values in cursor.fetchall():
                reach = total if is_total else groups[source, campaign]
                reach.counts = dict(zip(FUNNEL_STAGES, values[: len(FUNNEL_STAGES)], strict=True))
                if medians and is_total:
                    reach.medians = dict(zip(FUNNEL_STAGES, values[len(FUNNEL_STAGES) :], strict=True))
    else:
        rows = list(per_lead)
        for row in rows:
            for reach in (total, groups[row["source"], row["campaign"]]):
                for stage in FUNNEL_STAGES:
                    reach.counts[stage] += 1 if row[f"{stage}_at"] else 0
        for before, stage in _PAIRS:
            total.medians[stage] = _python_median(
                (row[f"{stage}_at"] - row[f"{before}_at"]).total_seconds()
                for row in rows
                if row[f"{stage}_at"] and row[f"{before}_at"]
            )
    filters.memo["reach"] = (medians, total, dict(groups))
    return total, dict(groups)


#: Memory for the median sorts: at the default 4 MB, a million durations spill to disk (twice the time).
MEDIAN_WORK_MEM = "64MB"


@contextlib.contextmanager
def _sort_memory() -> Iterator[None]:
    """A transaction whose sorts may use ``MEDIAN_WORK_MEM`` (PostgreSQL's ``SET LOCAL``)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{MEDIAN_WORK_MEM}'")
        yield


def _milestone_groups(filters: ReportFilter) -> list[dict[str, Any]]:
    """Per (source, campaign): the cohort's leads, accepted leads, leads that reached each funnel stage,
    won deals and their revenue, leads in each open stage now, owned unaccepted MQLs with an SLA due
    time, and rejections by reason.

    Once per filter: it also gives the volume and revenue of the sources, campaigns and alignment
    reports. Without a territory the whole UTC days of the range come from the daily roll-up
    ``CohortDay`` (a few thousand rows for two years) and only the hours at either end that are not
    whole UTC days (a time zone other than UTC) from ``LeadMilestone``; a territory's cohort is a
    set of leads, so it is one grouped scan of ``LeadMilestone``.
    """
    if "milestones" in filters.memo:
        return filters.memo["milestones"]
    reached = {f"{stage}_at": Count(f"{stage}_at") for stage in FUNNEL_STAGES}
    figures = {
        "leads": Count("pk"),
        "accepted": Count("accepted_at"),
        "won": Sum("won_deals"),
        "revenue": Sum("won_revenue"),
        **reached,
        **{f"in_{stage}": Count("pk", filter=Q(stage=stage)) for stage in LEAK_STAGES},
        "mql_sla_open": Count("pk", filter=_SLA_OPEN_Q),
        **{f"rejected_{reason}": Sum(f"rejected_{reason}") for reason in Rejection.Reason.values},
    }
    if filters.territory is not None:
        parts = [LeadMilestone.objects.filter(filters.lead_q())]
        rollup = None
    else:
        days, edges = _whole_utc_days(filters)
        parts = [LeadMilestone.objects.filter(_cohort_q(filters, start, end)) for start, end in edges]
        rollup = None if days is None else _rollup_groups(filters, *days)
    groups: dict[tuple[int, int | None], dict[str, Any]] = {}
    for rows in [*(part.order_by().values("source_id", "campaign_id").annotate(**figures) for part in parts), rollup]:
        for row in rows or ():
            key = row["source_id"], row["campaign_id"]
            if key not in groups:
                groups[key] = row
            else:
                for name in figures:
                    groups[key][name] += row[name]
    filters.memo["milestones"] = list(groups.values())
    return filters.memo["milestones"]


def _rollup_groups(
    filters: ReportFilter, first: datetime.date | None, end: datetime.date | None
) -> list[dict[str, Any]]:
    """``_milestone_groups``'s figures from ``CohortDay`` for the UTC days ``first`` up to ``end`` (excluded).

    None leaves that end open."""
    days = CohortDay.objects.order_by()
    if first is not None:
        days = days.filter(day__gte=first)
    if end is not None:
        days = days.filter(day__lt=end)
    if filters.source is not None:
        days = days.filter(source_id=filters.source.pk)
    if filters.campaign is not None:
        days = days.filter(campaign_id=filters.campaign.pk)
    # Annotated as "<stage>_at" after the sums: the roll-up's own "won" column would clash with "won" (deals).
    reached = {f"{stage}_at": Sum(stage) for stage in FUNNEL_STAGES}
    deals = {"won": Sum("won_deals"), "revenue": Sum("won_revenue")}
    leaks = {name: Sum(name) for name in (*(f"in_{stage}" for stage in LEAK_STAGES), "mql_sla_open")}
    rejections = {f"rejected_{reason}": Sum(f"rejected_{reason}") for reason in Rejection.Reason.values}
    return list(
        days.values("source_id", "campaign_id")
        .annotate(leads=Sum("leads"), accepted=Sum("accepted"), **reached)
        .annotate(**deals, **leaks, **rejections)
        .filter(leads__gt=0)
    )


Bound = datetime.datetime | None


def _whole_utc_days(
    filters: ReportFilter,
) -> tuple[tuple[datetime.date | None, datetime.date | None] | None, list[tuple[Bound, Bound]]]:
    """Split the filter's time range into whole UTC days (``[first, end)``, None when open or there are
    none) and the remaining intervals at its ends (``[start, end)`` datetimes, None when open)."""
    start = day_start(filters.date_from) if filters.date_from is not None else None
    end = day_start(filters.date_to + datetime.timedelta(days=1)) if filters.date_to is not None else None
    first_day = last_day = None
    edges: list[tuple[Bound, Bound]] = []
    if start is not None:
        first_day = _utc_midnight_at_or_after(start)
        if _utc_midnight(first_day) != start:
            edges.append((start, _utc_midnight(first_day)))
    if end is not None:
        last_day = end.astimezone(datetime.UTC).date()
        if _utc_midnight(last_day) != end:
            edges.append((_utc_midnight(last_day), end))
    if first_day is not None and last_day is not None and first_day >= last_day:
        return None, [(start, end)]  # not one whole UTC day in the range
    return (first_day, last_day), edges


def _utc_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def _utc_midnight_at_or_after(moment: datetime.datetime) -> datetime.date:
    day = moment.astimezone(datetime.UTC).date()
    return day if _utc_midnight(day) == moment else day + datetime.timedelta(days=1)


def _cohort_q(filters: ReportFilter, start: Bound, end: Bound) -> Q:
    """The filter's cohort on ``LeadMilestone`` (no territory), created in ``[start, end)`` instead of its dates."""
    q = ReportFilter(source=filters.source, campaign=filters.campaign).lead_q()
    if start is not None:
        q &= Q(created_at__gte=start)
    if end is not None:
        q &= Q(created_at__lt=end)
    return q


def _milestone_reach(filters: ReportFilter, *, medians: bool) -> tuple[_Reach, dict[tuple[int, int | None], _Reach]]:
    """The funnel counts (total and per source and campaign) and medians from the maintained table."""
    total = _Reach()
    groups: dict[tuple[int, int | None], _Reach] = {}
    for row in _milestone_groups(filters):
        reach = groups[row["source_id"], row["campaign_id"]] = _Reach()
        for stage in FUNNEL_STAGES:
            reach.counts[stage] = row[f"{stage}_at"]
            total.counts[stage] += row[f"{stage}_at"]
    if medians and filters.source is None and filters.campaign is None and filters.territory is None:
        total.medians = _bucketed_medians(filters)
    elif medians:  # a source's, campaign's or territory's cohort: few enough durations to sort
        columns = {"new": "created_at", **{stage: f"{stage}_at" for stage in FUNNEL_STAGES}}
        middles = {stage: Median(EpochSeconds(F(columns[stage]) - F(columns[before]))) for before, stage in _PAIRS}
        with _sort_memory():
            total.medians = LeadMilestone.objects.filter(filters.lead_q()).aggregate(**middles)
    return total, groups


#: Each step's duration in SQL, exactly as ``reports/migrations/0005_cohort_day_triggers.py`` indexes it.
_STEP_SECONDS: dict[str, tuple[str, str]] = {
    stage: (f"{stage}_at", "created_at" if before == "new" else f"{before}_at") for before, stage in _PAIRS
}


def _step_seconds(stage: str, table: str = "") -> str:
    reached, since = _STEP_SECONDS[stage]
    return f"date_part('epoch', {table}{reached} - {table}{since})"


def _bucketed_medians(filters: ReportFilter) -> dict[str, float | None]:
    """The date range's exact median seconds per funnel step, without sorting every duration.

    First pass: how many of the range's durations fall in each logarithmic bucket, from the daily
    counts ``DurationDay`` (and, for the hours at the range's ends that are not whole UTC days,
    from ``LeadMilestone``); so the median's bucket and its rank inside it are known. Second pass:
    the durations of that one bucket only, through the step's expression index, sorted to the
    rank. Interpolated as ``percentile_cont(0.5)`` does (``a + (b - a) * 0.5``).
    """
    histogram: dict[str, dict[int, int]] = {stage: defaultdict(int) for stage in FUNNEL_STAGES}
    days, edges = _whole_utc_days(filters)
    if days is not None:
        counts = DurationDay.objects.order_by()
        counts = counts.filter(day__gte=days[0]) if days[0] is not None else counts
        counts = counts.filter(day__lt=days[1]) if days[1] is not None else counts
        for row in counts.values("step", "bucket").annotate(n=Sum("leads")):
            histogram[row["step"]][row["bucket"]] += row["n"]
    values = ", ".join(f"(%s, {_step_seconds(stage, 'r.')})" for stage in FUNNEL_STAGES)
    with connection.cursor() as cursor:
        for start, end in edges:
            cursor.execute(
                "SELECT v.step, reports_duration_bucket(v.seconds), count(*) FROM reports_leadmilestone r "
                f"CROSS JOIN LATERAL (VALUES {values}) v (step, seconds) "
                "WHERE r.status = %s AND r.created_at >= %s AND r.created_at < %s AND v.seconds IS NOT NULL "
                "GROUP BY 1, 2",
                [*FUNNEL_STAGES, Lead.Status.ACTIVE, start, end],
            )
            for step, bucket, n in cursor.fetchall():
                histogram[step][bucket] += n
        picks: list[tuple[str, int, int]] = []  # (stage, bucket, rank inside the bucket)
        wanted: dict[str, list[int]] = {}  # per stage, the indexes into picks of its middle value(s)
        for stage, buckets in histogram.items():
            total = sum(buckets.values())
            if not total:
                continue
            wanted[stage] = []
            for rank in sorted({(total - 1) // 2, total // 2}):
                for bucket in sorted(buckets):
                    if rank < buckets[bucket]:
                        break
                    rank -= buckets[bucket]
                wanted[stage].append(len(picks))
                picks.append((stage, bucket, rank))
        found = _durations_at(cursor, filters, picks)
    medians: dict[str, float | None] = dict.fromkeys(FUNNEL_STAGES)
    for stage, indexes in wanted.items():
        low, high = found[indexes[0]], found[indexes[-1]]
        medians[stage] = low + (high - low) * 0.5
    return medians


def _durations_at(cursor: Any, filters: ReportFilter, picks: list[tuple[str, int, int]]) -> list[float]:
    """For each (stage, bucket, rank), the rank-th smallest duration of the cohort's in that bucket (one query)."""
    if not picks:
        return []
    created, bounds = _created_between(filters)
    selects, params = [], []
    for n, (stage, bucket, rank) in enumerate(picks):
        reached, since = _STEP_SECONDS[stage]
        seconds = _step_seconds(stage)
        # The WHERE repeats the step index's predicate and expression, so the planner reads that index.
        selects.append(
            f"(SELECT {n}, {seconds} FROM reports_leadmilestone WHERE status = %s AND {reached} IS NOT NULL "
            f"AND {since} IS NOT NULL AND reports_duration_bucket({seconds}) = %s "
            + "".join(f"AND {condition} " for condition in created)
            + "ORDER BY 2 OFFSET %s LIMIT 1)"
        )
        params += [Lead.Status.ACTIVE, bucket, *bounds, rank]
    cursor.execute(" UNION ALL ".join(selects), params)
    found = dict(cursor.fetchall())
    return [found[n] for n in range(len(picks))]


def report_funnel(*, filters: ReportFilter) -> list[FunnelStep]:
    """Leads that reached each stage, the conversion between steps and the median time between them.

    From ``StageChange``: a lead counts at every stage it ever entered, so one that skipped a stage
    (converted straight from SAL) still counts at the later ones; medians pair only the leads that
    entered both steps, timed from their first entry into each.
    """
    reach, _ = _funnel_reach(filters, medians=True)
    leads = sum(entry.leads for entry in _lead_volume(filters).values())
    steps = [FunnelStep(stage="new", label="New", leads=leads, conversion_rate=None, median_hours_from_previous=None)]
    for before, stage in _PAIRS:
        reached = reach.counts[stage]
        before_count = leads if before == "new" else reach.counts[before]
        steps.append(
            FunnelStep(
                stage=stage,
                label=Stage(stage).label,
                leads=reached,
                conversion_rate=_ratio(reached, before_count),
                median_hours_from_previous=_hours(reach.medians[stage]),
            )
        )
    return steps


# --- Sources and campaigns: volume, revenue, cost -------------------------------------------


@dataclass(frozen=True, slots=True)
class YieldRow:
    """What one source or campaign yielded: volume down the funnel, revenue, and what it cost."""

    key: str  # slug ("" for leads with no campaign)
    name: str
    leads: int
    mqls: int
    accepted: int
    won: int
    revenue: Decimal
    cost: Decimal
    cost_per_lead: Decimal | None
    cost_per_mql: Decimal | None
    cost_per_won: Decimal | None
    #: Revenue per unit of cost (3.5: every 1 spent brought 3.50 back); None when it cost nothing.
    return_on_spend: float | None


@dataclass(slots=True)
class _Yield:
    leads: int = 0
    accepted: int = 0
    mqls: int = 0
    won: int = 0
    revenue: Decimal = Decimal("0.00")


def _lead_volume(filters: ReportFilter) -> dict[tuple[int, int | None], _Yield]:
    """The cohort's leads and accepted leads per (source, campaign): one index-only grouped query, once."""
    if "volume" not in filters.memo and filters.maintained:
        filters.memo["volume"] = {
            (row["source_id"], row["campaign_id"]): _Yield(leads=row["leads"], accepted=row["accepted"])
            for row in _milestone_groups(filters)
        }
    if "volume" not in filters.memo:
        figures: dict[tuple[int, int | None], _Yield] = {}
        for row in (
            filters.leads()
            .values("source_id", "campaign_id")
            .annotate(leads=Count("id"), accepted=Count("id", filter=Q(accepted_at__isnull=False)))
        ):
            figures[row["source_id"], row["campaign_id"]] = _Yield(leads=row["leads"], accepted=row["accepted"])
        filters.memo["volume"] = figures
    return filters.memo["volume"]


def _yield_by_source_and_campaign(filters: ReportFilter) -> dict[tuple[int, int | None], _Yield]:
    """Leads, accepted, MQLs, won deals and revenue per (source, campaign), once per filter.

    Sources, campaigns and the alignment view all add these up their own way (a lead has one
    source and one campaign, so the sums stay exact), instead of scanning the cohort again. The
    MQL counts come from the funnel's query when the funnel was asked for first (the dashboard).
    """
    if "yield" in filters.memo:
        return filters.memo["yield"]
    figures: dict[tuple[int, int | None], _Yield] = defaultdict(_Yield)
    for key, volume in _lead_volume(filters).items():
        figures[key].leads, figures[key].accepted = volume.leads, volume.accepted
    if "reach" in filters.memo or filters.maintained:
        _, groups = _funnel_reach(filters, medians=False)
        for key, reach in groups.items():
            figures[key].mqls = reach.counts[Stage.MQL]
    else:
        for row in (
            StageChange.objects.filter(filters.events_q(), to_stage=Stage.MQL)
            .order_by()
            .values("lead__source_id", "lead__campaign_id")
            .annotate(n=Count("lead_id", distinct=True))
        ):
            figures[row["lead__source_id"], row["lead__campaign_id"]].mqls = row["n"]
    if filters.maintained:
        for row in _milestone_groups(filters):
            entry = figures[row["source_id"], row["campaign_id"]]
            entry.won, entry.revenue = row["won"], row["revenue"]
        filters.memo["yield"] = dict(figures)
        return filters.memo["yield"]
    for row in (
        Opportunity.objects.filter(filters.events_q(), stage=Opportunity.Stage.WON)
        .order_by()
        .values("lead__source_id", "lead__campaign_id")
        .annotate(won=Count("id"), revenue=Sum("amount"))
    ):
        entry = figures[row["lead__source_id"], row["lead__campaign_id"]]
        entry.won, entry.revenue = row["won"], row["revenue"]
    filters.memo["yield"] = dict(figures)
    return filters.memo["yield"]


def _yield_rows(
    *, filters: ReportFilter, by: str, names: dict[int | None, tuple[str, str]], costs: dict[int | None, Decimal]
) -> list[YieldRow]:
    """The per (source, campaign) figures added up by ``by`` (``source_id`` or ``campaign_id``)."""
    totals: dict[int | None, _Yield] = defaultdict(_Yield)
    for (source_id, campaign_id), entry in _yield_by_source_and_campaign(filters).items():
        total = totals[source_id if by == "source_id" else campaign_id]
        total.leads += entry.leads
        total.accepted += entry.accepted
        total.mqls += entry.mqls
        total.won += entry.won
        total.revenue += entry.revenue
    volume = {key: {"leads": t.leads, "accepted": t.accepted} for key, t in totals.items() if t.leads}
    mqls = {key: t.mqls for key, t in totals.items()}
    deals = {key: {"won": t.won, "revenue": t.revenue} for key, t in totals.items()}
    rows = []
    # By name, the leads with no campaign last.
    for key in sorted(volume, key=lambda k: (k is None, names.get(k, ("", ""))[1].lower())):
        slug, name = names.get(key, ("", "No campaign"))
        deal = deals.get(key, {})
        won, revenue = deal.get("won", 0), deal.get("revenue") or Decimal("0.00")
        cost = costs.get(key, Decimal("0.00"))
        mql = mqls.get(key, 0)
        rows.append(
            YieldRow(
                key=slug,
                name=name,
                leads=volume[key]["leads"],
                mqls=mql,
                accepted=volume[key]["accepted"],
                won=won,
                revenue=revenue,
                cost=cost,
                cost_per_lead=_money_per(cost, volume[key]["leads"]),
                cost_per_mql=_money_per(cost, mql),
                cost_per_won=_money_per(cost, won),
                return_on_spend=_ratio(revenue, cost),
            )
        )
    return rows


def report_sources(*, filters: ReportFilter) -> list[YieldRow]:
    """Per source: leads, MQLs, accepted, won, revenue; cost is the sum of the source's campaigns' costs."""
    costs = {
        row["source_id"]: row["cost"]
        for row in Campaign.objects.filter(source__isnull=False)
        .order_by()
        .values("source_id")
        .annotate(cost=Sum("cost"))
    }
    names = {s.pk: (s.slug, s.name) for s in Source.objects.only("slug", "name")}
    return _yield_rows(filters=filters, by="source_id", names=names, costs=costs)


def report_campaigns(*, filters: ReportFilter) -> list[YieldRow]:
    """Per campaign (and the leads with none): leads, MQLs, accepted, won, revenue, cost and what each cost."""
    campaigns = Campaign.objects.only("slug", "name", "cost")
    names: dict[int | None, tuple[str, str]] = {c.pk: (c.slug, c.name) for c in campaigns}
    costs = {c.pk: c.cost for c in campaigns}
    return _yield_rows(filters=filters, by="campaign_id", names=names, costs=costs)


# --- Alignment: what sales accepts and rejects, per source -----------------------------------


@dataclass(frozen=True, slots=True)
class AlignmentRow:
    key: str
    name: str
    accepted: int
    rejected: int
    #: Acceptances over every accept-or-reject decision (a lead rejected by one rep and accepted by
    #: the next counts one of each).
    acceptance_rate: float | None
    reasons: dict[str, int] = field(default_factory=dict)


def report_alignment(*, filters: ReportFilter) -> list[AlignmentRow]:
    """Sales acceptance and rejection reasons per source: the view marketing and sales share."""
    accepted: dict[int, int] = defaultdict(int)
    for (source_id, _campaign_id), entry in _lead_volume(filters).items():
        if entry.accepted:
            accepted[source_id] += entry.accepted
    reasons: dict[int | None, dict[str, int]] = defaultdict(dict)
    if filters.maintained:  # the milestone rows count their lead's rejections by reason
        for row in _milestone_groups(filters):
            for reason in Rejection.Reason.values:
                if row[f"rejected_{reason}"]:
                    by_reason = reasons[row["source_id"]]
                    by_reason[reason] = by_reason.get(reason, 0) + row[f"rejected_{reason}"]
    else:
        for row in (
            Rejection.objects.filter(filters.events_q())
            .order_by()
            .values("lead__source_id", "reason")
            .annotate(n=Count("id"))
        ):
            reasons[row["lead__source_id"]][row["reason"]] = row["n"]
    names = {s.pk: (s.slug, s.name) for s in Source.objects.filter(pk__in={*accepted, *reasons}).only("slug", "name")}
    rows = []
    for key in sorted({*accepted, *reasons}, key=lambda k: names[k][1].lower()):
        rejected = sum(reasons[key].values()) if key in reasons else 0
        yes = accepted.get(key, 0)
        rows.append(
            AlignmentRow(
                key=names[key][0],
                name=names[key][1],
                accepted=yes,
                rejected=rejected,
                acceptance_rate=_ratio(yes, yes + rejected),
                reasons={reason: reasons[key].get(reason, 0) for reason in Rejection.Reason.values},
            )
        )
    return rows


# --- Reps: response times, SLA breaches, load ------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepResponseRow:
    rep: str  # username
    name: str
    assigned: int  # leads of the cohort the rep owns (or owned until they accepted)
    accepted: int
    median_response_hours: float | None  # accepted_at - assigned_at
    sla_breaches: int


def report_reps(*, filters: ReportFilter) -> list[RepResponseRow]:
    """Per rep: leads assigned, accepted, median response time (accepted - assigned) and SLA breaches."""
    response = EpochSeconds(F("accepted_at") - F("assigned_at"))
    # Routing, a claim or a reassignment sets ``assigned_at`` when it gives a lead to a rep.
    owned = filters.leads().filter(owner__isnull=False, assigned_at__isnull=False).values("owner_id")
    if filters.maintained and filters.source is None and filters.campaign is None and filters.territory is None:
        figures = _rep_figures_from_rollup(filters)
    elif _has_percentile():
        with _sort_memory():  # hundreds of thousands of owned leads sorted by rep, then each rep's timings
            figures = {
                row["owner_id"]: row
                for row in owned.annotate(
                    assigned=Count("id"),
                    accepted=Count("id", filter=Q(accepted_at__isnull=False)),
                    median=Median(response, filter=Q(accepted_at__isnull=False)),
                )
            }
    else:
        figures = {}
        timings: dict[int, list[float]] = defaultdict(list)
        for row in owned.annotate(assigned=Count("id"), accepted=Count("id", filter=Q(accepted_at__isnull=False))):
            figures[row["owner_id"]] = dict(row)
        for owner_id, assigned_at, accepted_at in owned.filter(accepted_at__isnull=False).values_list(
            "owner_id", "assigned_at", "accepted_at"
        ):
            timings[owner_id].append((accepted_at - assigned_at).total_seconds())
        for owner_id, row in figures.items():
            row["median"] = _python_median(timings.get(owner_id, []))
    breaches = sla_breaches_by_rep_user(filters=filters)
    users = get_user_model().objects.filter(pk__in={*figures, *breaches}).only("username", "first_name", "last_name")
    rows = [
        RepResponseRow(
            rep=user.get_username(),
            name=user.get_full_name() or user.get_username(),
            assigned=figures.get(user.pk, {}).get("assigned", 0),
            accepted=figures.get(user.pk, {}).get("accepted", 0),
            median_response_hours=_hours(figures.get(user.pk, {}).get("median")),
            sla_breaches=breaches.get(user.pk, 0),
        )
        for user in users
    ]
    return sorted(rows, key=lambda row: row.name.lower())


def _rep_figures_from_rollup(filters: ReportFilter) -> dict[int, dict[str, Any]]:
    """Per owner (user id): leads assigned, accepted and the exact median response seconds, for a date range.

    The counts add up ``RepDay`` (the hours at the range's ends that are not whole UTC days from
    ``LeadMilestone``). Each median is then one or two reads of ``reports_milestone_response_idx``,
    which holds each owner's accepted leads in order of response time: the rank-th of the range's.
    """
    figures: dict[int, dict[str, Any]] = {}
    days, edges = _whole_utc_days(filters)
    parts: list[Iterable[dict[str, Any]]] = [
        LeadMilestone.objects.filter(_cohort_q(filters, start, end), owner_id__isnull=False, assigned_at__isnull=False)
        .order_by()
        .values("owner_id")
        .annotate(assigned=Count("pk"), accepted=Count("accepted_at"))
        for start, end in edges
    ]
    if days is not None:
        counts = RepDay.objects.order_by()
        counts = counts.filter(day__gte=days[0]) if days[0] is not None else counts
        counts = counts.filter(day__lt=days[1]) if days[1] is not None else counts
        parts.append(counts.values("owner_id").annotate(assigned=Sum("assigned"), accepted=Sum("accepted")))
    for rows in parts:
        for row in rows:
            entry = figures.setdefault(row["owner_id"], {"assigned": 0, "accepted": 0, "median": None})
            entry["assigned"] += row["assigned"]
            entry["accepted"] += row["accepted"]
    figures = {owner: entry for owner, entry in figures.items() if entry["assigned"]}
    created, bounds = _created_between(filters)
    selects, params, picks = [], [], []
    for owner, entry in figures.items():
        total = entry["accepted"]
        for rank in sorted({(total - 1) // 2, total // 2}) if total else ():
            # The WHERE repeats the index's predicate, so the planner reads it in the owner's order.
            selects.append(
                f"(SELECT {len(picks)}, date_part('epoch', accepted_at - assigned_at) FROM reports_leadmilestone "
                "WHERE status = %s AND owner_id = %s AND assigned_at IS NOT NULL AND accepted_at IS NOT NULL "
                + "".join(f"AND {condition} " for condition in created)
                + "ORDER BY 2 OFFSET %s LIMIT 1)"
            )
            params += [Lead.Status.ACTIVE, owner, *bounds, rank]
            picks.append(owner)
    if selects:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), params)
            found: dict[int, list[float]] = defaultdict(list)
            for n, seconds in sorted(cursor.fetchall()):
                found[picks[n]].append(seconds)
        for owner, (low, *rest) in found.items():
            high = rest[-1] if rest else low
            figures[owner]["median"] = low + (high - low) * 0.5
    return figures


def _created_between(filters: ReportFilter) -> tuple[list[str], list[datetime.datetime]]:
    """The filter's dates as SQL conditions on ``created_at`` and their parameters."""
    created: list[str] = []
    bounds: list[datetime.datetime] = []
    if filters.date_from is not None:
        created.append("created_at >= %s")
        bounds.append(day_start(filters.date_from))
    if filters.date_to is not None:
        created.append("created_at < %s")
        bounds.append(day_start(filters.date_to + datetime.timedelta(days=1)))
    return created, bounds


def sla_breaches_by_rep_user(*, filters: ReportFilter) -> dict[int, int]:
    """SLA breaches of the cohort's leads per rep (by the rep's user id), in one grouped query."""
    breaches = SlaBreach.objects.filter(rep__isnull=False).order_by()
    if filters.maintained:
        # A few thousand breaches, each looked up in the cohort by the milestone's primary key: the
        # EXISTS inside the count stays a per-row probe (as a WHERE it would become a semi-join that
        # hashes the whole cohort, a million rows for all time).
        if filters.date_from is not None:
            breaches = breaches.filter(breached_at__gte=day_start(filters.date_from))
        in_cohort = Exists(LeadMilestone.objects.filter(filters.lead_q(), lead_id=OuterRef("lead_id")))
        counts = breaches.values("rep__user_id").annotate(n=Count("id", filter=in_cohort))
    else:
        counts = breaches.filter(filters.events_q("breached_at")).values("rep__user_id").annotate(n=Count("id"))
    return {row["rep__user_id"]: row["n"] for row in counts if row["n"]}


@dataclass(frozen=True, slots=True)
class RepLoadRow:
    rep: str
    name: str
    open_leads: int
    max_open_leads: int
    today: int
    max_new_per_day: int
    utilisation: float | None  # open_leads / max_open_leads


def report_load(*, filters: ReportFilter) -> list[RepLoadRow]:
    """Each rep's load right now against their capacity (the territory filter picks the reps seated there)."""
    reps = Rep.objects.select_related("user").order_by("user__first_name", "user__username")
    if filters.territory is not None:
        reps = reps.filter(memberships__territory=filters.territory)
    reps = list(reps)
    loads = rep_load(reps=reps)
    return [
        RepLoadRow(
            rep=rep.user.get_username(),
            name=str(rep),
            open_leads=loads[rep.pk].open_leads,
            max_open_leads=rep.max_open_leads,
            today=loads[rep.pk].today,
            max_new_per_day=rep.max_new_per_day,
            utilisation=_ratio(loads[rep.pk].open_leads, rep.max_open_leads),
        )
        for rep in reps
    ]


# --- Leaks ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeakRow:
    stage: str
    label: str
    leads: int  # in this stage now
    stuck: int  # in it for longer than ``stuck_days``
    past_sla_untouched: int  # owned, not accepted, SLA due time passed (MQLs only)


def report_leaks(*, filters: ReportFilter, now: datetime.datetime | None = None) -> list[LeakRow]:
    """Leads leaking out: per open stage, how many sit there past ``stuck_days`` or past their SLA untouched.

    A lead's time in its stage runs from ``stage_changed_at`` (its creation for a lead that never moved).
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=filters.stuck_days)
    if filters.maintained:
        return _leaks_from_rollup(filters, now=now, cutoff=cutoff)
    rows = {
        row["stage"]: row
        for row in filters.leads()
        .filter(stage__in=LEAK_STAGES)
        .values("stage")
        .annotate(
            leads=Count("id"),
            stuck=Count(
                "id", filter=Q(stage_changed_at__lt=cutoff) | Q(stage_changed_at__isnull=True, created_at__lt=cutoff)
            ),
            past_sla=Count(
                "id",
                filter=Q(stage=Stage.MQL, owner__isnull=False, accepted_at__isnull=True, sla_due_at__lt=now),
            ),
        )
    }
    return [
        LeakRow(
            stage=stage,
            label=Stage(stage).label,
            leads=rows.get(stage, {}).get("leads", 0),
            stuck=rows.get(stage, {}).get("stuck", 0),
            past_sla_untouched=rows.get(stage, {}).get("past_sla", 0),
        )
        for stage in LEAK_STAGES
    ]


def _leaks_from_rollup(filters: ReportFilter, *, now: datetime.datetime, cutoff: datetime.datetime) -> list[LeakRow]:
    """The leaks from the roll-ups, less the few leads not (yet) leaking.

    ``CohortDay`` counts the cohort's leads in each open stage and its owned, unaccepted MQLs with
    an SLA due time. What is stuck or past its SLA depends on "now", so the complements are counted
    on the leads instead, both few and indexed: the leads that entered their stage (or arrived)
    since the cutoff (``lead_stage_changed_idx``, ``lead_stage_created_idx``) and the MQLs whose SLA
    is still ahead (``lead_sla_due_idx``).
    """
    in_stage: dict[str, int] = defaultdict(int)
    sla_open = 0
    for row in _milestone_groups(filters):
        for stage in LEAK_STAGES:
            in_stage[stage] += row[f"in_{stage}"]
        sla_open += row["mql_sla_open"]
    moved_lately = Q(stage_changed_at__gte=cutoff) | Q(stage_changed_at__isnull=True, created_at__gte=cutoff)
    sla_ahead = Q(stage=Stage.MQL, owner__isnull=False, accepted_at__isnull=True, sla_due_at__gte=now)
    fresh = {
        row["stage"]: row
        for row in filters.leads()
        .filter(moved_lately | sla_ahead, stage__in=LEAK_STAGES)
        .values("stage")
        .annotate(moved=Count("id", filter=moved_lately), sla_ahead=Count("id", filter=sla_ahead))
    }
    return [
        LeakRow(
            stage=stage,
            label=Stage(stage).label,
            leads=in_stage[stage],
            stuck=in_stage[stage] - fresh.get(stage, {}).get("moved", 0),
            past_sla_untouched=sla_open - fresh.get(stage, {}).get("sla_ahead", 0) if stage == Stage.MQL else 0,
        )
        for stage in LEAK_STAGES
    ]
