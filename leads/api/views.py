"""API views for leads and their reference data: fetch, validate, call one service, answer.

Which leads a user sees comes from ``lead_list_visible`` alone, so a lead outside it is a 404
for reads and writes alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, as_serializer_error
from rest_framework.settings import api_settings

from leadflow.pagination import KeysetPagination
from leads.activities import activity_record
from leads.api.activities import ActivityCreateSerializer
from leads.api.permissions import ContactChangePermission, LeadChangePermission, ModelPermissions
from leads.api.serializers import (
    AccountSerializer,
    ActivitySerializer,
    AuditEventSerializer,
    CampaignSerializer,
    ContactSerializer,
    LeadCreateSerializer,
    LeadDefinitionSerializer,
    LeadSerializer,
    LeadSubmissionSerializer,
    LeadUpdateSerializer,
    ReassignRequestSerializer,
    RejectRequestSerializer,
    SourceKeySerializer,
    SourceRotateKeySerializer,
    SourceSerializer,
    StageChangeRequestSerializer,
    StageChangeSerializer,
)
from leads.filters import (
    AccountFilter,
    AuditEventFilter,
    CampaignFilter,
    ContactFilter,
    LeadDefinitionFilter,
    LeadFilter,
    SourceFilter,
)
from leads.intake import IntakeError
from leads.models import Account, AuditEvent, Campaign, Contact, Lead, LeadDefinition, Source, SourceRecord
from leads.permissions import contact_add_allowed, lead_stage_change_check
from leads.selectors import lead_list_visible
from leads.services import (
    LeadOperationError,
    campaign_create,
    campaign_update,
    contact_create,
    contact_update,
    lead_change_stage,
    lead_submit,
    lead_update,
    source_create,
    source_rotate_key,
    source_update,
)
from routing.models import Rep
from routing.services import lead_accept, lead_reassign, lead_reject, overflow_claim


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's refusal into a 400 that names the field."""
    try:
        yield
    except LeadOperationError as exc:
        raise ValidationError({exc.field or api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]}) from exc
    except IntakeError as exc:
        raise ValidationError(exc.errors) from exc
    except DjangoValidationError as exc:
        raise ValidationError(as_serializer_error(exc)) from exc


def client_ip(request: Request) -> str | None:
    """The address the request came from, for the audit trail."""
    return request.META.get("REMOTE_ADDR") or None


class TimelinePagination(KeysetPagination):
    ordering = ("-occurred_at", "-id")


class HistoryPagination(KeysetPagination):
    ordering = ("created_at", "id")


def lead_queryset_for_api(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """What the lead serializer reads, fetched in a fixed number of queries."""
    return leads.select_related("source", "campaign", "owner", "definition").prefetch_related(
        Prefetch("source_records", queryset=SourceRecord.objects.select_related("source"))
    )


class NoDeleteModelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, add and change, but never delete: leads and reports point at these rows."""


@extend_schema_view(
    list=extend_schema(summary="The leads you may see, newest first"),
    retrieve=extend_schema(summary="One lead"),
    create=extend_schema(
        summary="Send a lead in, as a web form would",
        description="The submission is stored at once and the lead processed in the background (its "
        "pipeline_state says how far). An Idempotency-Key header makes retries safe: a repeated key "
        "returns the first answer's submission and lead with 200 and changes nothing.",
        request=LeadCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Any unique string per lead sent, up to 200 characters",
            )
        ],
        responses={
            202: LeadSubmissionSerializer,
            200: OpenApiResponse(LeadSubmissionSerializer, description="The Idempotency-Key was seen before"),
        },
    ),
    partial_update=extend_schema(
        summary="Correct a lead's person, company or address details",
        request=LeadUpdateSerializer,
        responses=LeadSerializer,
    ),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LeadSerializer
    permission_classes = [ModelPermissions, LeadChangePermission]
    filterset_class = LeadFilter
    action_permissions = {
        "stage": ["leads.view_lead", "leads.change_lead"],
        "claim": ["leads.view_lead", "leads.work_lead"],
        "accept": ["leads.view_lead", "leads.work_lead"],
        "reject": ["leads.view_lead", "leads.work_lead"],
        "reassign": ["leads.view_lead", "leads.assign_lead"],
        "activities": ["leads.view_lead", "leads.view_activity"],
        "activities_create": ["leads.view_lead", "leads.add_activity"],
        "stage_changes": ["leads.view_lead"],
    }

    def get_queryset(self) -> QuerySet[Lead]:
        return lead_queryset_for_api(lead_list_visible(user=self.request.user))

    def _lead_response(self, lead: Lead, status_code: int = status.HTTP_200_OK) -> Response:
        # Read back through the un-narrowed queryset: the caller just acted on this lead.
        fresh = lead_queryset_for_api(Lead.objects.all()).get(pk=lead.pk)
        return Response(LeadSerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = LeadCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        with service_errors():
            submission, created = lead_submit(
                source=serializer.validated_data["source"],
                campaign=serializer.validated_data.get("campaign"),
                payload=serializer.to_payload(),
                idempotency_key=request.headers.get("Idempotency-Key", ""),
                actor=request.user,
                ip_address=client_ip(request),
            )
        lead = lead_queryset_for_api(Lead.objects.all()).get(pk=submission.lead_id)
        body = {
            "submission_id": submission.pk,
            "lead": LeadSerializer(lead, context=self.get_serializer_context()).data,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lead = self.get_object()
        serializer = LeadUpdateSerializer(lead, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            lead_update(lead=lead, data=serializer.validated_data, actor=request.user, ip_address=client_ip(request))
        return self._lead_response(lead)

    @extend_schema(
        summary="Move a lead to another stage",
        description="Who may: an admin any lead, a rep the leads they own, marketing unowned leads between "
        "new, junk, nurture and MQL (else 403). Lost needs a lost reason_code, junk a disqualified one, nurture "
        "a reason; a recycled reason_code with revisit_on recycles the lead (back to marketing, unowned). "
        "Opportunity, won and lost-from-opportunity come from convert/ and POST /api/opportunities/{id}/close/. "
        "A transition the lifecycle does not allow is a 400 naming the field.",
        request=StageChangeRequestSerializer,
        responses=LeadSerializer,
    )
    @action(detail=True, methods=["post"])
    def stage(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        serializer = StageChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lead_stage_change_check(user=request.user, lead=lead, to_stage=data["stage"])
        with service_errors():
            lead_change_stage(
                lead=lead,
                to_stage=data["stage"],
                reason=data["reason"],
                reason_code=data["reason_code"],
                revisit_on=data["revisit_on"],
                actor=request.user,
                ip_address=client_ip(request),
            )
        return self._lead_response(lead)

    @extend_schema(
        summary="Claim an unowned MQL",
        description="The lead becomes yours if you have room (open leads and today's intake, as routing counts "
        "them); a 400 when someone claimed it first or you are full.",
        request=None,
        responses=LeadSerializer,
    )
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        with service_errors():
            overflow_claim(lead=lead, user=request.user, ip_address=client_ip(request))
        return self._lead_response(lead)

    @extend_schema(
        summary="Accept a lead routed to you",
        description="Owner only: the MQL becomes a SAL (accepted_at is set) and stops counting against your "
        "capacity. 400 when it is not an MQL waiting for your answer.",
        request=None,
        responses=LeadSerializer,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        with service_errors():
            lead_accept(lead=lead, user=request.user, ip_address=client_ip(request))
        return self._lead_response(lead)

    @extend_schema(
        summary="Reject a lead routed to you, saying why",
        description="Owner only. The lead is unassigned and the rejection kept for the reports per source; "
        "the reason decides where it goes next.",
        request=RejectRequestSerializer,
        responses=LeadSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        serializer = RejectRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            lead_reject(
                lead=lead,
                user=request.user,
                reason=serializer.validated_data["reason"],
                note=serializer.validated_data["note"],
                ip_address=client_ip(request),
            )
        return self._lead_response(lead)

    @extend_schema(
        summary="Give an open lead to another rep",
        description="Needs leads.assign_lead. Never past the rep's capacity or today's intake (a 400 naming rep).",
        request=ReassignRequestSerializer,
        responses=LeadSerializer,
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        serializer = ReassignRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rep = Rep.objects.filter(user_id=serializer.validated_data["rep"]).first()
        if rep is None:
            raise ValidationError({"rep": ["No sales rep with this user id."]})
        with service_errors():
            lead_reassign(
                lead=lead,
                rep=rep,
                actor=request.user,
                reason=serializer.validated_data["reason"],
                ip_address=client_ip(request),
            )
        return self._lead_response(lead)

    @extend_schema(summary="The lead's timeline, newest first", responses=ActivitySerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        serializer_class=ActivitySerializer,
        pagination_class=TimelinePagination,
        filter_backends=[],
        # Anyone who sees the lead and may add activities may log one (a rep on a lead they may claim,
        # too): the owner-only rule of LeadChangePermission is for changing the lead itself.
        permission_classes=[ModelPermissions],
    )
    def activities(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        page = self.paginate_queryset(lead.activities.select_related("actor"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add an activity to the lead's timeline",
        description="A note, a call, or engagement the person showed. Engagement kinds rescore the lead in the "
        "background; one that reaches the MQL threshold becomes an MQL.",
        request=ActivityCreateSerializer,
        responses={201: ActivitySerializer},
    )
    @activities.mapping.post
    def activities_create(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        serializer = ActivityCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            activity = activity_record(lead=lead, actor=request.user, **serializer.validated_data)
        return Response(ActivitySerializer(activity).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Every stage move of the lead, oldest first", responses=StageChangeSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="stage-changes",
        serializer_class=StageChangeSerializer,
        pagination_class=HistoryPagination,
        filter_backends=[],
    )
    def stage_changes(self, request: Request, pk: str | None = None) -> Response:
        lead = self.get_object()
        page = self.paginate_queryset(lead.stage_changes.select_related("actor", "reason_code"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AccountViewSet(NoDeleteModelViewSet):
    queryset = Account.objects.select_related("owner")
    serializer_class = AccountSerializer
    permission_classes = [ModelPermissions]
    filterset_class = AccountFilter


@extend_schema_view(
    create=extend_schema(summary="Add a contact (a rep: at an account they own)"),
    update=extend_schema(summary="Change a contact (a rep: of their own accounts, leads and deals)"),
    partial_update=extend_schema(summary="Change a contact (a rep: of their own accounts, leads and deals)"),
)
class ContactViewSet(NoDeleteModelViewSet):
    """Contacts: read by everyone who works leads; changed per ``leads.permissions`` (audited)."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    permission_classes = [ModelPermissions, ContactChangePermission]
    filterset_class = ContactFilter

    def _account_check(self, account: Account | None) -> None:
        if not contact_add_allowed(user=self.request.user, account=account):
            raise PermissionDenied("A rep adds contacts to, and moves them into, accounts they own.")

    def perform_create(self, serializer: BaseSerializer) -> None:
        self._account_check(serializer.validated_data.get("account"))
        with service_errors():
            serializer.instance = contact_create(
                data=serializer.validated_data, actor=self.request.user, ip_address=client_ip(self.request)
            )

    def perform_update(self, serializer: BaseSerializer) -> None:
        contact = serializer.instance
        account = serializer.validated_data.get("account", contact.account)
        if account != contact.account:
            self._account_check(account)
        with service_errors():
            serializer.instance = contact_update(
                contact=contact,
                data=serializer.validated_data,
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )


@extend_schema_view(
    create=extend_schema(
        summary="Add a source; the answer holds its API key, shown this once",
        responses={201: SourceKeySerializer},
    ),
)
class SourceViewSet(NoDeleteModelViewSet):
    """Lead sources. Writes leave an audit event; the key's hash never leaves the server."""

    queryset = Source.objects.all()
    serializer_class = SourceSerializer
    permission_classes = [ModelPermissions]
    filterset_class = SourceFilter
    lookup_field = "slug"
    action_permissions = {"rotate_key": ["leads.view_source", "leads.change_source"]}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            source, key = source_create(
                data=serializer.validated_data, actor=request.user, ip_address=client_ip(request)
            )
        return self._key_response(source, key, status.HTTP_201_CREATED)

    def _key_response(self, source: Source, key: str, status_code: int = status.HTTP_200_OK) -> Response:
        body = {"source": SourceSerializer(source, context=self.get_serializer_context()).data, "api_key": key}
        return Response(body, status=status_code)

    def perform_update(self, serializer: BaseSerializer) -> None:
        with service_errors():
            serializer.instance = source_update(
                source=serializer.instance,
                data=serializer.validated_data,
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )

    @extend_schema(
        summary="Give the source a new API key; the old one keeps working for the grace period",
        request=SourceRotateKeySerializer,
        responses=SourceKeySerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, slug: str | None = None) -> Response:
        source = self.get_object()
        body = SourceRotateKeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with service_errors():
            key = source_rotate_key(
                source=source,
                actor=request.user,
                ip_address=client_ip(request),
                grace_hours=body.validated_data.get("grace_hours"),
            )
        return self._key_response(source, key)


class CampaignViewSet(NoDeleteModelViewSet):
    """Campaigns. Writes leave an audit event."""

    queryset = Campaign.objects.select_related("source")
    serializer_class = CampaignSerializer
    permission_classes = [ModelPermissions]
    filterset_class = CampaignFilter
    lookup_field = "slug"

    def perform_create(self, serializer: BaseSerializer) -> None:
        with service_errors():
            serializer.instance = campaign_create(
                data=serializer.validated_data, actor=self.request.user, ip_address=client_ip(self.request)
            )

    def perform_update(self, serializer: BaseSerializer) -> None:
        with service_errors():
            serializer.instance = campaign_update(
                campaign=serializer.instance,
                data=serializer.validated_data,
                actor=self.request.user,
                ip_address=client_ip(self.request),
            )


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[OpenApiParameter("version", OpenApiTypes.INT, OpenApiParameter.PATH)],
    ),
)
class LeadDefinitionViewSet(viewsets.ReadOnlyModelViewSet):
    """Lead definition versions, newest first (edited and published on their own pages)."""

    queryset = LeadDefinition.objects.select_related("author", "published_by")
    serializer_class = LeadDefinitionSerializer
    permission_classes = [ModelPermissions]
    filterset_class = LeadDefinitionFilter
    lookup_field = "version"
    lookup_value_regex = r"\d+"


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Who did what to which object, when, from where (needs ``leads.view_auditevent``)."""

    queryset = AuditEvent.objects.select_related("actor", "content_type")
    serializer_class = AuditEventSerializer
    permission_classes = [ModelPermissions]
    filterset_class = AuditEventFilter
