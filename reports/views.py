"""The reports dashboard (``/reports/``) and each report's table as CSV.

The filter bar is validated by the API's ``ReportFilterSerializer``, so the page, the downloads
and ``/api/reports/`` accept exactly the same filters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leadflow.csv import csv_response
from leads.models import Campaign, Source
from leads.permissions import page_permission_required
from reports.api.serializers import ReportFilterSerializer, default_date_range
from reports.catalog import REPORTS, REPORTS_BY_NAME, Column, Report
from routing.models import Territory


@dataclass(frozen=True, slots=True)
class Cell:
    value: Any
    kind: str


@dataclass(frozen=True, slots=True)
class Panel:
    report: Report
    table: list[list[Cell]]
    chart: dict[str, Any]

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.report.columns

    @property
    def chart_json(self) -> str:
        return json.dumps(self.chart, cls=DjangoJSONEncoder)


def dashboard_query(query: QueryDict) -> QueryDict:
    """The filters as asked, with the default date range when neither date was given."""
    query = query.copy()
    if "date_from" not in query and "date_to" not in query:
        start, end = default_date_range()
        query["date_from"], query["date_to"] = start.isoformat(), end.isoformat()
    return query


@page_permission_required("leads.view_reports")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    query = dashboard_query(request.GET)
    params = ReportFilterSerializer(data=query)
    panels: list[Panel] = []
    if params.is_valid():
        filters = params.to_filter()
        for report in REPORTS:
            rows = report.rows(filters)
            table = [
                [Cell(value, column.kind) for value, column in zip(cells, report.columns, strict=True)]
                for cells in report.table(rows)
            ]
            panels.append(Panel(report=report, table=table, chart=report.chart(rows)))
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "panels": panels,
        "errors": params.errors,
        "query": query,
        "csv_query": query.urlencode(),
        "sources": Source.objects.only("slug", "name"),
        "campaigns": Campaign.objects.only("slug", "name").order_by("name"),
        "territories": Territory.objects.only("slug", "name"),
    }
    template = "reports/_panels.html" if partial else "reports/dashboard.html"
    return render(request, template, context, status=200 if params.is_valid() else 400)


@page_permission_required("leads.view_reports")
@require_GET
def report_csv(request: HttpRequest, name: str) -> StreamingHttpResponse | HttpResponse:
    """One report's table, as the dashboard shows it for the same filters, safe to open in a spreadsheet."""
    report = REPORTS_BY_NAME.get(name)
    if report is None:
        raise Http404("No such report.")
    params = ReportFilterSerializer(data=request.GET)
    if not params.is_valid():
        problems = "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in params.errors.items())
        return HttpResponse(f"Invalid filter. {problems}", status=400, content_type="text/plain; charset=utf-8")
    rows = report.rows(params.to_filter())
    return csv_response(
        filename=f"{report.name}-report.csv",
        header=[column.label for column in report.columns],
        rows=report.table(rows),
    )
