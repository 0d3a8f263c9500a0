"""API views for territories and reps: fetch, validate, call one service, answer."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leadflow.pagination import KeysetPagination
from leads.api.permissions import ModelPermissions
from leads.api.views import client_ip, service_errors
from leads.selectors import lead_list_visible, lead_queue_for_rep
from routing.api.serializers import (
    AssignmentSerializer,
    NotificationSerializer,
    NotificationsReadSerializer,
    OverflowEntrySerializer,
    QueueLeadSerializer,
    RepSelfUpdateSerializer,
    RepSerializer,
    RepUpdateSerializer,
    RoutePreviewSerializer,
    RouteTestRequestSerializer,
    TerritorySerializer,
)
from routing.models import Notification, OverflowEntry, Rep, Territory, TerritoryMembership
from routing.preview import lead_route_preview, route_test_lead
from routing.selectors import (
    notification_list,
    overflow_list,
    rep_intake_today,
    reps_with_open_leads,
    sla_breaches_by_rep,
)
from routing.services import (
    notifications_mark_read,
    overflow_claim,
    rep_fields_editable_by,
    rep_update,
    territory_delete,
    territory_save,
)

#: The window of the SLA breaches ``GET /api/reps/`` counts per rep.
BREACH_WINDOW = datetime.timedelta(days=30)


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

    def perform_create(self, serializer: TerritorySerializer) -> None:
        with service_errors():
            saved = territory_save(
                territory=None,
                data=serializer.criteria(),
                seats=serializer.seats_given(),
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )
        serializer.instance = self.get_queryset().get(pk=saved.pk)  # with its reps as they are now

    def perform_update(self, serializer: TerritorySerializer) -> None:
        with service_errors():
            saved = territory_save(
                territory=serializer.instance,
                data=serializer.criteria(),
                seats=serializer.seats_given(),
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )
        serializer.instance = self.get_queryset().get(pk=saved.pk)  # with its reps as they are now

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
        seats = TerritoryMembership.objects.select_related("territory")
        return reps_with_open_leads(
            Rep.objects.select_related("user").prefetch_related(Prefetch("memberships", queryset=seats))
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
    """Put today's intake (``new_today``) and the SLA lapses of the last 30 days (``sla_breaches``) on each
    rep of a page, one query each for the whole page."""
    now = timezone.now()
    today = rep_intake_today(reps=reps, now=now)
    breaches = sla_breaches_by_rep(since=now - BREACH_WINDOW, rep_ids=[rep.pk for rep in reps])
    for rep in reps:
        rep.new_today = today.get(rep.pk, 0)
        rep.breaches_30d = breaches.get(rep.pk, 0)
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


class QueueLimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=500,
        default=50,
        help_text="How many of the most urgent leads (default 50, at most 500)",
    )


class QueueView(APIView):
    """``GET /api/queue/``: the caller's own open leads, most urgent first (SLA due, then score); the ``limit``
    most urgent, 50 unless asked for more (up to 500)."""

    # 50 like a page of /api/leads/: a queue is worked from the top, and 500 full rows took 75 ms to serialize
    # at a million leads (bench/scale.py), where 50 take a tenth of that.

    @extend_schema(
        parameters=[QueueLimitSerializer],
        responses={200: QueueLeadSerializer(many=True)},
        operation_id="queue_list",
    )
    def get(self, request: Request) -> Response:
        if not request.user.has_perm("leads.work_lead"):
            raise PermissionDenied("Only sales reps have a queue.")
        params = QueueLimitSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        leads = lead_queue_for_rep(user=request.user)[: params.validated_data["limit"]]
        return Response(QueueLeadSerializer(leads, many=True).data)


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", label="Only unread (or read)")

    class Meta:
        model = Notification
        fields = ["unread", "kind"]


class MayTestRouting(BasePermission):
    """Admins and marketing (who see every lead and the territories) may dry-run routing."""

    message = "Only admins and marketing may test routing."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.has_perms(["routing.view_territory", "leads.view_all_leads"])
        )


@extend_schema_view(
    list=extend_schema(summary="Your notifications, newest first"),
    read=extend_schema(summary="Mark one of your notifications read", request=None),
    read_all=extend_schema(
        summary="Mark all your notifications read", request=None, responses=NotificationsReadSerializer
    ),
)
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The signed-in user's in-app notifications (SLA lapses, reassignments, escalations); ``?unread=true``."""

    serializer_class = NotificationSerializer
    pagination_class = KeysetPagination
    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Notification.objects.none()
        return notification_list(user=self.request.user)

    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = self.get_object()
        notifications_mark_read(user=request.user, ids=[notification.pk])
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)

    @action(detail=False, methods=["post"], url_path="read-all", filterset_class=None, pagination_class=None)
    def read_all(self, request: Request) -> Response:
        return Response({"marked_read": notifications_mark_read(user=request.user)})


class RouteTestView(APIView):
    """``POST /api/routing/test/``: where routing would send a lead now, and why; a dry run (nothing written)."""

    permission_classes = [MayTestRouting]

    @extend_schema(
        summary="Test a lead: which territory and rep it would get, and why",
        description="Give an existing lead's id, or the fields routing reads. Uses the routing rules and the reps' "
        "current load without locking or changing anything.",
        request=RouteTestRequestSerializer,
        responses=RoutePreviewSerializer,
        operation_id="routing_test",
    )
    def post(self, request: Request) -> Response:
        serializer = RouteTestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead = route_test_lead(user=request.user, data=serializer.validated_data)
        if lead is None:
            raise ValidationError({"lead": [f"No lead {serializer.validated_data['lead']} that you may see."]})
        return Response(RoutePreviewSerializer(lead_route_preview(lead=lead)).data)
