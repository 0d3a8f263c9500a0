"""API views for territories and reps: fetch, validate, call one service, answer."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, Prefetch, Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from leads.api.permissions import ModelPermissions
from leads.api.views import client_ip, service_errors
from leads.models import Lead, Stage
from routing.api.serializers import RepSelfUpdateSerializer, RepSerializer, RepUpdateSerializer, TerritorySerializer
from routing.models import Rep, Territory, TerritoryMembership
from routing.services import rep_fields_editable_by, rep_update, territory_create, territory_delete, territory_update

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

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rep = self.get_object()
        editable = rep_fields_editable_by(rep=rep, user=request.user)
        serializer_class = RepUpdateSerializer if editable is None else RepSelfUpdateSerializer
        serializer = serializer_class(rep, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            rep_update(rep=rep, data=serializer.validated_data, actor=request.user, ip_address=client_ip(request))
        return Response(self.get_serializer(self.get_queryset().get(pk=rep.pk)).data)
