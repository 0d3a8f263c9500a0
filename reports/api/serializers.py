"""The reports' query parameters and answers, typed for the OpenAPI schema."""

from __future__ import annotations

import datetime
import functools
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from leads.models import Campaign, Source
from reports.selectors import DEFAULT_STUCK_DAYS, ReportFilter
from routing.models import Rejection, Territory

#: With neither date given, a report covers the last this many days (today included).
DEFAULT_DAYS = 90


def default_date_range() -> tuple[datetime.date, datetime.date]:
    today = timezone.localdate()
    return today - datetime.timedelta(days=DEFAULT_DAYS - 1), today


class ReportFilterSerializer(serializers.Serializer):
    """The filters every report takes (query parameters); the dashboard's filter bar uses it too.

    With neither ``date_from`` nor ``date_to``, the last ``DEFAULT_DAYS`` days; one date alone
    leaves the other end open.
    """

    date_from = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Leads created on or after (YYYY-MM-DD); with neither date, the last 90 days",
    )
    date_to = serializers.DateField(
        required=False, allow_null=True, help_text="Leads created on or before (YYYY-MM-DD); with neither date, today"
    )
    source = serializers.SlugRelatedField(
        slug_field="slug", queryset=Source.objects.all(), required=False, allow_null=True, help_text="Source slug"
    )
    campaign = serializers.SlugRelatedField(
        slug_field="slug", queryset=Campaign.objects.all(), required=False, allow_null=True, help_text="Campaign slug"
    )
    territory = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Territory.objects.all(),
        required=False,
        allow_null=True,
        help_text="Territory slug: leads routing ever assigned there",
    )
    stuck_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        default=DEFAULT_STUCK_DAYS,
        help_text="Leaks: a lead is stuck after this many days in its stage",
    )

    def to_internal_value(self, data: Any) -> Any:
        # An empty query parameter (a cleared filter in the page) means "no filter", not an error.
        if hasattr(data, "dict"):
            data = {key: value for key, value in data.dict().items() if value != ""}
        if "date_from" not in data and "date_to" not in data:
            start, end = default_date_range()
            data = {**data, "date_from": start.isoformat(), "date_to": end.isoformat()}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and end < start:
            raise serializers.ValidationError({"date_to": ["The end date must be on or after the start date."]})
        return attrs

    def to_filter(self) -> ReportFilter:
        data = self.validated_data
        return ReportFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            source=data.get("source"),
            campaign=data.get("campaign"),
            territory=data.get("territory"),
            stuck_days=data.get("stuck_days", DEFAULT_STUCK_DAYS),
        )


class AppliedFiltersSerializer(serializers.Serializer):
    date_from = serializers.DateField(allow_null=True)
    date_to = serializers.DateField(allow_null=True)
    source = serializers.CharField(allow_null=True, help_text="Source slug")
    campaign = serializers.CharField(allow_null=True, help_text="Campaign slug")
    territory = serializers.CharField(allow_null=True, help_text="Territory slug")
    stuck_days = serializers.IntegerField()

    @staticmethod
    def of(filters: ReportFilter) -> dict[str, Any]:
        return {
            "date_from": filters.date_from,
            "date_to": filters.date_to,
            "source": filters.source.slug if filters.source else None,
            "campaign": filters.campaign.slug if filters.campaign else None,
            "territory": filters.territory.slug if filters.territory else None,
            "stuck_days": filters.stuck_days,
        }


_MONEY = {"max_digits": 16, "decimal_places": 2}


class FunnelStepSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    leads = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True, help_text="Share of the previous step, 0-1")
    median_hours_from_previous = serializers.FloatField(allow_null=True)


class YieldRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Slug; empty for the leads with no campaign")
    name = serializers.CharField()
    leads = serializers.IntegerField()
    mqls = serializers.IntegerField()
    accepted = serializers.IntegerField()
    won = serializers.IntegerField()
    revenue = serializers.DecimalField(**_MONEY)
    cost = serializers.DecimalField(**_MONEY)
    cost_per_lead = serializers.DecimalField(**_MONEY, allow_null=True)
    cost_per_mql = serializers.DecimalField(**_MONEY, allow_null=True)
    cost_per_won = serializers.DecimalField(**_MONEY, allow_null=True)
    return_on_spend = serializers.FloatField(allow_null=True, help_text="Revenue / cost")


class RejectionReasonsSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {value: serializers.IntegerField(help_text=label) for value, label in Rejection.Reason.choices}


class AlignmentRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Source slug")
    name = serializers.CharField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True, help_text="Accepted / (accepted + rejected)")
    reasons = RejectionReasonsSerializer(help_text="Rejections per reason")


class RepResponseRowSerializer(serializers.Serializer):
    rep = serializers.CharField(help_text="Username")
    name = serializers.CharField()
    assigned = serializers.IntegerField()
    accepted = serializers.IntegerField()
    median_response_hours = serializers.FloatField(allow_null=True, help_text="Accepted at - assigned at")
    sla_breaches = serializers.IntegerField()


class RepLoadRowSerializer(serializers.Serializer):
    rep = serializers.CharField(help_text="Username")
    name = serializers.CharField()
    open_leads = serializers.IntegerField(help_text="Owned MQLs not yet accepted")
    max_open_leads = serializers.IntegerField()
    today = serializers.IntegerField(help_text="Leads given today (the rep's day)")
    max_new_per_day = serializers.IntegerField()
    utilisation = serializers.FloatField(allow_null=True, help_text="open_leads / max_open_leads")


class LeakRowSerializer(serializers.Serializer):
    stage = serializers.CharField()
    label = serializers.CharField()
    leads = serializers.IntegerField()
    stuck = serializers.IntegerField(help_text="In the stage longer than stuck_days")
    past_sla_untouched = serializers.IntegerField(help_text="Owned MQLs not accepted by their SLA due time")


ROW_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "funnel": FunnelStepSerializer,
    "sources": YieldRowSerializer,
    "campaigns": YieldRowSerializer,
    "alignment": AlignmentRowSerializer,
    "reps": RepResponseRowSerializer,
    "load": RepLoadRowSerializer,
    "leaks": LeakRowSerializer,
}


@functools.cache
def report_response_serializer(name: str) -> type[serializers.Serializer]:
    """``{"report", "filters", "rows"}`` with the report's own row type, named for the schema."""
    rows = ROW_SERIALIZERS[name]
    return type(
        f"{name.title()}ReportSerializer",
        (serializers.Serializer,),
        {
            "report": serializers.CharField(),
            "filters": AppliedFiltersSerializer(),
            "rows": rows(many=True),
            "__module__": __name__,
        },
    )
