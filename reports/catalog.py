"""The reports, in the order the dashboard shows them: what each computes, its table columns and its chart.

The dashboard, the CSV downloads and the API all read this one list, so a figure, its table and
its download can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reports import selectors
from reports.selectors import ReportFilter
from routing.models import Rejection


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # attribute of the row; "reasons.junk" reads a key of a dict attribute
    label: str
    kind: str = "int"  # text, int, money, rate (0-1, shown as %), hours, ratio

    def value(self, row: Any) -> Any:
        name, _, item = self.key.partition(".")
        value = getattr(row, name)
        return value.get(item, 0) if item else value


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    axis: str = "y"  # "y" (counts) or "y2" (a second scale: money, hours, rates)


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    title: str
    explanation: str
    build: Callable[..., Sequence[Any]]
    columns: tuple[Column, ...]
    label_key: str  # the column naming each bar group
    series: tuple[Series, ...]
    stacked: bool = False
    horizontal: bool = False
    second_axis: str = ""  # what the y2 scale measures: "money", "hours", "rate"

    def rows(self, filters: ReportFilter) -> Sequence[Any]:
        return self.build(filters=filters)

    def table(self, rows: Sequence[Any]) -> list[list[Any]]:
        """The rows as cells in column order (raw values: the template and the CSV format them)."""
        return [[column.value(row) for column in self.columns] for row in rows]

    def chart(self, rows: Sequence[Any]) -> dict[str, Any]:
        """What app.js hands to Chart.js: labels, one dataset per series, and the layout."""
        return {
            "labels": [getattr(row, self.label_key) for row in rows],
            "datasets": [
                {"label": s.label, "axis": s.axis, "data": [_plain(Column(s.key, s.label).value(row)) for row in rows]}
                for s in self.series
            ],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "secondAxis": self.second_axis,
        }


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


_YIELD_COLUMNS = (
    Column("name", "Name", "text"),
    Column("leads", "Leads"),
    Column("mqls", "MQLs"),
    Column("accepted", "Accepted"),
    Column("won", "Won"),
    Column("revenue", "Revenue", "money"),
    Column("cost", "Cost", "money"),
    Column("cost_per_lead", "Cost per lead", "money"),
    Column("cost_per_mql", "Cost per MQL", "money"),
    Column("cost_per_won", "Cost per won deal", "money"),
    Column("return_on_spend", "Return on spend", "ratio"),
)
_YIELD_SERIES = (
    Series("leads", "Leads"),
    Series("mqls", "MQLs"),
    Series("accepted", "Accepted"),
    Series("won", "Won"),
    Series("revenue", "Revenue", axis="y2"),
)

REPORTS: tuple[Report, ...] = (
    Report(
        name="funnel",
        title="Funnel",
        explanation="Leads that reached each stage, the share of the step before that got there, and the median "
        "time it took.",
        build=selectors.report_funnel,
        columns=(
            Column("label", "Stage", "text"),
            Column("leads", "Leads"),
            Column("conversion_rate", "Conversion from previous", "rate"),
            Column("median_hours_from_previous", "Median time from previous (hours)", "hours"),
        ),
        label_key="label",
        series=(Series("leads", "Leads"), Series("median_hours_from_previous", "Median hours from previous", "y2")),
        second_axis="hours",
    ),
    Report(
        name="sources",
        title="Sources: volume, revenue and cost",
        explanation="Per source, what came in, what sales took and won, and what it cost (the sum of its "
        "campaigns' costs).",
        build=selectors.report_sources,
        columns=_YIELD_COLUMNS,
        label_key="name",
        series=_YIELD_SERIES,
        second_axis="money",
    ),
    Report(
        name="campaigns",
        title="Campaigns: volume, revenue and cost",
        explanation="Per campaign (and the leads with none), what came in, what was won, and what each result cost.",
        build=selectors.report_campaigns,
        columns=_YIELD_COLUMNS,
        label_key="name",
        series=_YIELD_SERIES,
        second_axis="money",
    ),
    Report(
        name="alignment",
        title="Sales acceptance by source",
        explanation="How many leads of each source sales accepted or rejected, and why they rejected them.",
        build=selectors.report_alignment,
        columns=(
            Column("name", "Source", "text"),
            Column("accepted", "Accepted"),
            Column("rejected", "Rejected"),
            Column("acceptance_rate", "Acceptance rate", "rate"),
            *(Column(f"reasons.{value}", f"Rejected: {label}") for value, label in Rejection.Reason.choices),
        ),
        label_key="name",
        series=(
            Series("accepted", "Accepted"),
            *(Series(f"reasons.{value}", f"Rejected: {label}") for value, label in Rejection.Reason.choices),
        ),
        stacked=True,
        horizontal=True,
    ),
    Report(
        name="reps",
        title="Response times and SLA breaches per rep",
        explanation="Per rep, leads assigned and accepted, the median hours from assignment to acceptance, and "
        "how often the SLA lapsed.",
        build=selectors.report_reps,
        columns=(
            Column("name", "Rep", "text"),
            Column("assigned", "Assigned"),
            Column("accepted", "Accepted"),
            Column("median_response_hours", "Median response (hours)", "hours"),
            Column("sla_breaches", "SLA breaches"),
        ),
        label_key="name",
        series=(
            Series("sla_breaches", "SLA breaches"),
            Series("median_response_hours", "Median response (hours)", "y2"),
        ),
        second_axis="hours",
    ),
    Report(
        name="load",
        title="Rep load against capacity (now)",
        explanation="Each rep's unworked leads against their limit, and today's new leads against the daily cap. "
        "Only the territory filter applies: this is the load right now.",
        build=selectors.report_load,
        columns=(
            Column("name", "Rep", "text"),
            Column("open_leads", "Unworked leads"),
            Column("max_open_leads", "Capacity"),
            Column("utilisation", "Load", "rate"),
            Column("today", "New today"),
            Column("max_new_per_day", "Daily cap"),
        ),
        label_key="name",
        series=(Series("open_leads", "Unworked leads"), Series("max_open_leads", "Capacity")),
        horizontal=True,
    ),
    Report(
        name="leaks",
        title="Leaks: stuck and untouched leads",
        explanation="Leads sitting in a stage longer than the stuck limit, and owned MQLs whose SLA passed "
        "without the rep accepting them.",
        build=selectors.report_leaks,
        columns=(
            Column("label", "Stage", "text"),
            Column("leads", "In stage now"),
            Column("stuck", "Stuck past the limit"),
            Column("past_sla_untouched", "Untouched past SLA"),
        ),
        label_key="label",
        series=(Series("stuck", "Stuck past the limit"), Series("past_sla_untouched", "Untouched past SLA")),
    ),
)

REPORTS_BY_NAME: dict[str, Report] = {report.name: report for report in REPORTS}
