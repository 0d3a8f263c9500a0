"""API for the end of the funnel: converting a lead, opportunities and closing them, the reason lists,
and lead exports as CSV. Views fetch, validate, call one service (``leads.lifecycle``), answer."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from leads.api.permissions import ModelPermissions
from leads.api.serializers import ReasonSerializer
from leads.api.views import client_ip, service_errors
from leads.exports import lead_export_response
from leads.filters import LeadFilter, SlugMultipleChoiceFilter
from leads.lifecycle import lead_convert, opportunity_close, opportunity_update, reason_create, reason_update
from leads.models import Account, Campaign, Opportunity, Reason, Source, Stage
from leads.permissions import lead_stage_change_check
from leads.selectors import lead_list_visible, opportunity_list_visible

# --- Serializers ------------------------------------------------------------------------------------


class OpportunitySerializer(serializers.ModelSerializer):
    """A deal made from a converted lead. Its stage changes only through close/."""

    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    lost_reason = ReasonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "lead",
            "account",
            "account_name",
            "contact",
            "owner",
            "source",
            "campaign",
            "amount",
            "expected_close_on",
            "stage",
            "closed_on",
            "lost_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ConvertRequestSerializer(serializers.Serializer):
    name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200, help_text='Default: "<account>: <person>"'
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    expected_close_on = serializers.DateField(help_text="Today or later")
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Link to this account; default: the lead's account, else the one with its company domain or "
        "name, else a new one",
    )


class OpportunityUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    expected_close_on = serializers.DateField(required=False, help_text="Today or later")

    def to_internal_value(self, data: Any) -> Any:
        refused = sorted(set(data) - set(self.fields)) if hasattr(data, "keys") else []
        if refused:
            raise ValidationError(
                {
                    name: ["Only name, amount and expected_close_on change here; close it with close/."]
                    for name in refused
                }
            )
        return super().to_internal_value(data)


class CloseRequestSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[Opportunity.Stage.WON, Opportunity.Stage.LOST])
    closed_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="Default: today")
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text="The final amount; default: the opportunity's",
    )
    lost_reason = serializers.PrimaryKeyRelatedField(
        queryset=Reason.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Required when lost: a reason from the lost list (GET /api/reasons/?kind=lost)",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReasonWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Reason.Kind.choices)
    label = serializers.CharField(max_length=120)
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    is_active = serializers.BooleanField(required=False)


# --- Filters ------------------------------------------------------------------------------------------


class OpportunityFilter(django_filters.FilterSet):
    stage = django_filters.MultipleChoiceFilter(choices=Opportunity.Stage.choices)
    source = SlugMultipleChoiceFilter(field_name="source__slug", to_field_name="slug", queryset=Source.objects.all())
    campaign = SlugMultipleChoiceFilter(
        field_name="campaign__slug", to_field_name="slug", queryset=Campaign.objects.all()
    )
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner's username")
    account = django_filters.NumberFilter(field_name="account_id")
    lead = django_filters.NumberFilter(field_name="lead_id")
    closed_after = django_filters.DateFilter(field_name="closed_on", lookup_expr="gte", label="Closed on or after")
    closed_before = django_filters.DateFilter(field_name="closed_on", lookup_expr="lt", label="Closed before")
    expected_close_after = django_filters.DateFilter(field_name="expected_close_on", lookup_expr="gte")
    expected_close_before = django_filters.DateFilter(field_name="expected_close_on", lookup_expr="lt")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Opportunity
        fields = ["stage", "source", "campaign", "owner", "account", "lead"]


class ReasonFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Reason.Kind.choices)

    class Meta:
        model = Reason
        fields = ["kind", "is_active"]


# --- Views --------------------------------------------------------------------------------------------


class LeadConvertView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Convert a qualified lead into contact, account and opportunity",
        description="An admin, or the rep who owns the lead (else 403). The lead must be an active SAL or SQL "
        "without an opportunity (else 400 naming the field). In one transaction: the account (given, matched "
        "by the lead's company domain or name, or new), the contact, and an open opportunity with the lead's "
        "source, campaign and owner; the lead moves to opportunity (a SAL through SQL) and keeps its history.",
        request=ConvertRequestSerializer,
        responses={201: OpportunitySerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        lead = get_object_or_404(lead_list_visible(user=request.user), pk=pk)
        lead_stage_change_check(user=request.user, lead=lead, to_stage=Stage.OPPORTUNITY)
        body = ConvertRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            conversion = lead_convert(
                lead=lead, actor=request.user, ip_address=client_ip(request), **body.validated_data
            )
        return Response(OpportunitySerializer(conversion.opportunity).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Opportunities you may see (a rep: their own), newest first"),
    retrieve=extend_schema(summary="One opportunity"),
    partial_update=extend_schema(
        summary="Change an open opportunity's name, amount or expected close date",
        description="An admin, or the rep who owns the lead (else 403). A won or lost one is not edited (400).",
        request=OpportunityUpdateSerializer,
        responses=OpportunitySerializer,
    ),
)
class OpportunityViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    serializer_class = OpportunitySerializer
    permission_classes = [ModelPermissions]
    filterset_class = OpportunityFilter
    queryset = Opportunity.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {"close": ["leads.view_opportunity", "leads.change_opportunity"]}

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        opportunity = self.get_object()
        lead_stage_change_check(user=request.user, lead=opportunity.lead, to_stage=Stage.WON)
        body = OpportunityUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        with service_errors():
            opportunity_update(
                opportunity=opportunity,
                data=dict(body.validated_data),
                actor=request.user,
                ip_address=client_ip(request),
            )
        return Response(OpportunitySerializer(self.get_queryset().get(pk=opportunity.pk)).data)

    def get_queryset(self) -> Any:
        return opportunity_list_visible(user=self.request.user).select_related(
            "account", "owner", "source", "campaign", "lost_reason"
        )

    @extend_schema(
        summary="Close an opportunity as won or lost",
        description="An admin, or the rep who owns the lead (else 403). Won: the final amount (default: as it "
        "was). Lost: a lost_reason from the lost list. closed_on defaults to today and is never in the future. "
        "The lead moves to won or lost with it. A closed opportunity cannot be closed again (400).",
        request=CloseRequestSerializer,
        responses=OpportunitySerializer,
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        opportunity = self.get_object()
        lead_stage_change_check(user=request.user, lead=opportunity.lead, to_stage=Stage.WON)
        body = CloseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            closed = opportunity_close(
                opportunity=opportunity, actor=request.user, ip_address=client_ip(request), **body.validated_data
            )
        return Response(OpportunitySerializer(self.get_queryset().get(pk=closed.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="The reason lists: lost, disqualified, recycled (inactive ones too)"),
    retrieve=extend_schema(summary="One reason"),
    create=extend_schema(summary="Add a reason to a list (admins)", request=ReasonWriteSerializer),
    partial_update=extend_schema(
        summary="Rename, reorder, deactivate or reactivate a reason (admins); used reasons are never deleted",
        request=ReasonWriteSerializer,
    ),
)
class ReasonViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Reason.objects.all()
    serializer_class = ReasonSerializer
    permission_classes = [ModelPermissions]
    filterset_class = ReasonFilter
    pagination_class = None  # a few dozen rows: every list in one answer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self) -> type[BaseSerializer]:
        return ReasonWriteSerializer if self.action in ("create", "partial_update") else ReasonSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ReasonWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with service_errors():
            reason = reason_create(
                kind=data["kind"],
                label=data["label"],
                position=data.get("position"),
                actor=request.user,
                ip_address=client_ip(request),
            )
            if data.get("is_active") is False:
                reason = reason_update(reason=reason, data={"is_active": False}, actor=request.user)
        return Response(ReasonSerializer(reason).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        reason = self.get_object()
        body = ReasonWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "kind" in data and data.pop("kind") != reason.kind:
            raise ValidationError({"kind": ["A reason stays in its list; add a new one to the other list."]})
        with service_errors():
            reason = reason_update(reason=reason, data=data, actor=request.user, ip_address=client_ip(request))
        return Response(ReasonSerializer(reason).data)


def filterset_parameters(filterset: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """A filter set's filters as documented query parameters, for a view that is not a list."""
    return [
        OpenApiParameter(
            name,
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            description=str(field.extra.get("help_text") or field.label or name),
            many=isinstance(field, django_filters.MultipleChoiceFilter | SlugMultipleChoiceFilter),
        )
        for name, field in filterset.base_filters.items()
    ]


class AnyAcceptNegotiation(BaseContentNegotiation):
    """A download answers in its own format whatever ``Accept`` says (``text/csv`` included); errors in JSON."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return (renderers[0], renderers[0].media_type)


class LeadExportView(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="leads_export_csv",
        summary="The leads you may see, filtered like GET /api/leads/, as CSV",
        description="Streamed row by row (a million rows do not sit in memory), newest first, with every "
        "source record merged into each lead. Cells a spreadsheet would run as formulas (starting with = + - @, "
        "tab or CR) start with an apostrophe.",
        parameters=filterset_parameters(LeadFilter),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The CSV file"),
            400: OpenApiResponse(description="A filter value was not understood"),
        },
    )
    def get(self, request: Request) -> Any:
        if not request.user.has_perm("leads.view_lead"):
            return Response(status=status.HTTP_403_FORBIDDEN)
        lead_filter = LeadFilter(request.query_params, queryset=lead_list_visible(user=request.user), request=request)
        if not lead_filter.is_valid():
            raise ValidationError(lead_filter.errors)
        return lead_export_response(leads=lead_filter.qs)
