"""``GET /api/reports/<name>/``: each dashboard figure as JSON, with the dashboard's filters."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reports.api.serializers import AppliedFiltersSerializer, ReportFilterSerializer, report_response_serializer
from reports.catalog import REPORTS, REPORTS_BY_NAME


class CanViewReports(BasePermission):
    """Marketing and admins (``leads.view_reports``); reps get 403."""

    message = "You need the reports permission (marketing or admin) to read reports."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("leads.view_reports"))


class ReportView(APIView):
    permission_classes = [IsAuthenticated, CanViewReports]
    report_name: ClassVar[str]

    def get(self, request: Request) -> Response:
        params = ReportFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.to_filter()
        report = REPORTS_BY_NAME[self.report_name]
        answer = report_response_serializer(self.report_name)(
            {"report": report.name, "filters": AppliedFiltersSerializer.of(filters), "rows": report.rows(filters)}
        )
        return Response(answer.data)


def _report_view(name: str) -> type[ReportView]:
    report = REPORTS_BY_NAME[name]
    view = type(f"{name.title()}ReportView", (ReportView,), {"report_name": name, "__module__": __name__})
    schema = extend_schema(
        operation_id=f"reports_{name}",
        summary=report.title,
        description=report.explanation,
        tags=["reports"],
        parameters=[ReportFilterSerializer],
        responses={
            200: report_response_serializer(name),
            400: OpenApiResponse(description="A filter is invalid: the answer names the field and the problem"),
            403: OpenApiResponse(description="Not marketing or admin"),
        },
    )
    return extend_schema_view(get=schema)(view)


REPORT_VIEWS: dict[str, type[ReportView]] = {report.name: _report_view(report.name) for report in REPORTS}
