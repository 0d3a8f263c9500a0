"""API views for territories and reps: fetch, validate, call one service, answer."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from leadflow.pagination import KeysetPagination
from leads.api.permissions import ModelPermissions
from leads.api.views import client_ip, service_errors
from leads.models import Lead, Stage
from leads.selectors import lead_list_visible, lead_queue_for_rep
from routing.api.serializers import (
    AssignmentSerializer,
    OverflowEntrySerializer,
    QueueLeadSerializer,
    RepSelfUpdateSerializer,
    RepSerializer,
    RepUpdateSerializer,
    TerritorySerializer,
)
from routing.models import OverflowEntry, Rep, Territory, TerritoryMembership
from routing.selectors import overflow_list, rep_intake_today
from routing.services import (
    overflow_claim,
    rep_fields_editable_by,
    rep_update,
    territory_create,
    territory_delete,
    territory_update,
)

#: The stages in which an owned lead counts against a rep's capacity.
REP_LOAD_STAGES = (Stage.MQL, Stage.SAL, Stage.SQL)


class TerritoryFilter(django_filters.FilterSet):
    country = django_filters.CharFilter(method="filter_country", label="Covers this country code")

    class Meta:
        model = Territory
        fields = ["is_active"]

    def filter_country(self, queryset: QuerySet[Territory], name: str, value: str) -> QuerySet[Territory]:
        return queryset.filter(countries__contains=[value.strip().upper()])


class RepFilter(django_filters.FilterSet):
    territory = django_filters.CharFilter(field_name="territories__slug", label="Territory slug", distinct=True)

    class Meta:
        model = Rep
        fields = ["territory", "is_available"]


class OwnProfileOrChangeRep(BasePermission):
    """Writes to a rep need ``routing.change_rep``, except a rep's writes to their own profile."""

    message = "You may change only your own rep profile."

    def has_object_permission(self, request: Request, view: APIView, obj: Rep) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return rep_fields_editable_by(rep=obj, user=request.user) != frozenset()


class TerritoryViewSet(viewsets.ModelViewSet):
    """Territories and the reps seated in them. Writes need routing permissions and leave an audit event."""

    queryset = Territory.objects.select_related("manager").prefetch_related(
        Prefetch("memberships", queryset=TerritoryMembership.objects.select_related("rep__user"))
    )
    serializer_class = TerritorySerializer
    permission_classes = [ModelPermissions]
    filterset_class = TerritoryFilter
    lookup_field = "slug"

    def perform_create(self, serializer: BaseSerializer) -> None:
        with service_errors():
            serializer.instance = territory_create(
                data=serializer.validated_data, actor=self.request.user, ip_address=client_ip(self.request)
            )

    def perform_update(self, serializer: BaseSerializer) -> None:
        with service_errors():
            serializer.instance = territory_update(
                territory=serializer.instance,
                data=serializer.validated_data,
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )

    def perform_destroy(self, instance: Territory) -> None:
        territory_delete(territory=instance, actor=self.request.user, ip_address=client_ip(self.request))


@extend_schema_view(
    partial_update=extend_schema(
        summary="Change a rep's capacity, appetite or availability",
        description="Admins may change every field shown; a rep may change only min_score, is_available "
        "and out_of_office_until, and only on their own profile.",
        request=RepUpdateSerializer,
        responses=RepSerializer,
    ),
)
class RepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reps with their current load (``open_leads``), capacity and availability."""

    serializer_class = RepSerializer
    permission_classes = [ModelPermissions, OwnProfileOrChangeRep]
    filterset_class = RepFilter
    # A rep may patch their own profile without routing.change_rep; OwnProfileOrChangeRep decides per object.
    action_permissions = {"partial_update": ["routing.view_rep"]}

    def get_queryset(self) -> QuerySet[Rep]:
        load = Q(user__owned_leads__stage__in=REP_LOAD_STAGES, user__owned_leads__status=Lead.Status.ACTIVE)
        return (
            Rep.objects.select_related("user")
            .prefetch_related(Prefetch("memberships", queryset=TerritoryMembership.objects.select_related("territory")))
            .annotate(open_leads=Count("user__owned_leads", filter=load))
        )

    def paginate_queryset(self, queryset: QuerySet[Rep]) -> list[Rep] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            _with_intake(page)
        return page

    def get_object(self) -> Rep:
        rep = super().get_object()
        _with_intake([rep])
        return rep

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rep = self.get_object()
        editable = rep_fields_editable_by(rep=rep, user=request.user)
        serializer_class = RepUpdateSerializer if editable is None else RepSelfUpdateSerializer
        serializer = serializer_class(rep, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            rep_update(rep=rep, data=serializer.validated_data, actor=request.user, ip_address=client_ip(request))
        return Response(self.get_serializer(_with_intake([self.get_queryset().get(pk=rep.pk)])[0]).data)


def _with_intake(reps: list[Rep]) -> list[Rep]:
    """Put today's intake on each rep of a page (``new_today``), in one query for the page."""
    today = rep_intake_today(reps=reps)
    for rep in reps:
        rep.new_today = today.get(rep.pk, 0)
    return reps


class OverflowFilter(django_filters.FilterSet):
    territory = django_filters.CharFilter(field_name="territory__slug", label="Territory slug")
    no_territory = django_filters.BooleanFilter(field_name="territory", lookup_expr="isnull", label="In no territory")

    class Meta:
        model = OverflowEntry
        fields = ["territory", "no_territory"]


class HottestFirstPagination(KeysetPagination):
    ordering = ("-score", "id")


@extend_schema_view(
    list=extend_schema(summary="Leads waiting in overflow, hottest first (admins and marketing)"),
    claim=extend_schema(
        summary="Claim a lead from overflow",
        description="The signed-in rep takes the lead if they have room (open leads and today's intake); "
        "400 when the lead is no longer waiting or the rep is full.",
        request=None,
        responses=AssignmentSerializer,
    ),
)
class OverflowViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The overflow queue: MQLs nobody had room for, drained automatically as reps free up."""

    serializer_class = OverflowEntrySerializer
    permission_classes = [ModelPermissions]
    filterset_class = OverflowFilter
    pagination_class = HottestFirstPagination
    lookup_field = "lead_id"
    lookup_value_regex = r"\d+"
    action_permissions = {"list": ["leads.view_all_leads"], "claim": ["leads.work_lead"]}

    def get_queryset(self) -> QuerySet[OverflowEntry]:
        return overflow_list()

    @action(detail=True, methods=["post"])
    def claim(self, request: Request, lead_id: str) -> Response:
        lead = get_object_or_404(lead_list_visible(user=request.user), pk=lead_id)
        with service_errors():
            assignment = overflow_claim(lead=lead, user=request.user, ip_address=client_ip(request))
        return Response(AssignmentSerializer(assignment).data)


class QueueView(APIView):
    """``GET /api/queue/``: the caller's own open leads, most urgent first (SLA due, then score).

    Bounded by the rep's own work (at most ``QUEUE_LIMIT`` rows), so it is one list, not pages.
    """

    QUEUE_LIMIT = 500

    @extend_schema(responses={200: QueueLeadSerializer(many=True)}, operation_id="queue_list")
    def get(self, request: Request) -> Response:
        if not request.user.has_perm("leads.work_lead"):
            raise PermissionDenied("Only sales reps have a queue.")
        leads = lead_queue_for_rep(user=request.user)[: self.QUEUE_LIMIT]
        return Response(QueueLeadSerializer(leads, many=True).data)
