"""API for duplicates: a lead's possible duplicates, merging, undoing, and the review queue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dedupe.api.serializers import (
    CandidateMergeRequestSerializer,
    DuplicateCandidateSerializer,
    LeadMergeRequestSerializer,
    MergeSerializer,
    PossibleDuplicateSerializer,
)
from dedupe.models import DuplicateCandidate, Merge
from dedupe.selectors import candidate_list_for_review, lead_duplicates, merge_list_visible
from dedupe.services import MergeError, candidate_dismiss, lead_merge, merge_undo
from leads.api.permissions import ModelPermissions
from leads.models import Lead
from leads.selectors import lead_list_visible

VIEW = ["leads.view_lead"]
TRIAGE = ["leads.view_lead", "leads.triage_lead"]


@contextmanager
def merge_errors() -> Iterator[None]:
    try:
        yield
    except MergeError as exc:
        raise ValidationError({"non_field_errors": [str(exc)]}) from exc


class _Perms(ModelPermissions):
    """Every action here names its permissions in ``action_permissions``."""


class LeadDuplicatesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The lead's possible duplicates, likeliest first", responses=PossibleDuplicateSerializer(many=True)
    )
    def get(self, request: Request, pk: int) -> Response:
        if not request.user.has_perms(VIEW):
            return Response(status=status.HTTP_403_FORBIDDEN)
        lead = get_object_or_404(lead_list_visible(user=request.user), pk=pk)
        found = lead_duplicates(lead=lead, user=request.user)
        return Response(PossibleDuplicateSerializer(found, many=True).data)


class LeadMergeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Merge another lead into this one",
        description="This lead survives. Per field it keeps the value survivorship prefers unless `fields` "
        "chooses; activities, source records, submissions and stage changes move to it; its owner stays.",
        request=LeadMergeRequestSerializer,
        responses={201: MergeSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        if not request.user.has_perms(TRIAGE):
            return Response(status=status.HTTP_403_FORBIDDEN)
        visible = lead_list_visible(user=request.user)
        survivor = get_object_or_404(visible, pk=pk)
        body = LeadMergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        other = visible.filter(pk=body.validated_data["other"]).first()
        if other is None:
            raise ValidationError({"other": ["No such lead."]})
        with merge_errors():
            merge = lead_merge(
                survivor=survivor, merged=other, actor=request.user, choices=body.validated_data["fields"]
            )
        return Response(MergeSerializer(merge).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Merges of leads you may see, newest first"),
    retrieve=extend_schema(summary="One merge"),
)
class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = MergeSerializer
    permission_classes = [_Perms]
    action_permissions = {"list": VIEW, "retrieve": VIEW, "undo": TRIAGE}
    queryset = Merge.objects.none()

    def get_queryset(self) -> QuerySet[Merge]:
        return merge_list_visible(user=self.request.user)

    @extend_schema(summary="Undo a merge: both leads back as they were", request=None, responses=MergeSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        merge = self.get_object()
        with merge_errors():
            merge = merge_undo(merge=merge, actor=request.user)
        return Response(MergeSerializer(merge).data)


@extend_schema_view(
    list=extend_schema(
        summary="The review queue: pairs that may be one person",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=DuplicateCandidate.Status.values,
                description="Default: open (pairs of two active leads, waiting for a decision)",
            ),
            OpenApiParameter("source", str, description="Only pairs with a lead from this source (its slug)"),
            OpenApiParameter("lead", int, description="Only pairs with this lead"),
        ],
    ),
    retrieve=extend_schema(summary="One pair"),
)
class DuplicateCandidateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DuplicateCandidateSerializer
    permission_classes = [_Perms]
    action_permissions = {"list": TRIAGE, "retrieve": TRIAGE, "merge": TRIAGE, "dismiss": TRIAGE}
    queryset = DuplicateCandidate.objects.none()

    def get_queryset(self) -> QuerySet[DuplicateCandidate]:
        if self.action != "list":
            return candidate_list_for_review(user=self.request.user)
        params = self.request.query_params
        wanted = params.get("status") or DuplicateCandidate.Status.OPEN
        if wanted not in DuplicateCandidate.Status.values:
            raise ValidationError({"status": [f"Choose one of {', '.join(DuplicateCandidate.Status.values)}."]})
        lead = params.get("lead")
        if lead is not None and not lead.isdigit():
            raise ValidationError({"lead": ["A lead id (a whole number)."]})
        lead_id = int(lead) if lead is not None else None
        return candidate_list_for_review(
            user=self.request.user, status=wanted, source=params.get("source", "").strip(), lead_id=lead_id
        )

    @extend_schema(
        summary="Merge the pair, choosing the survivor and, per field, whose value to keep",
        request=CandidateMergeRequestSerializer,
        responses={201: MergeSerializer},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: str | None = None) -> Response:
        pair = self.get_object()
        body = CandidateMergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = {pair.lead_a_id, pair.lead_b_id}
        survivor_id = body.validated_data["survivor"]
        if survivor_id not in ids:
            raise ValidationError({"survivor": ["Choose one of the pair's two leads."]})
        if pair.status != DuplicateCandidate.Status.OPEN:
            raise ValidationError({"non_field_errors": ["This pair was decided already."]})
        (merged_id,) = ids - {survivor_id}
        with merge_errors():
            merge = lead_merge(
                survivor=Lead.objects.get(pk=survivor_id),
                merged=Lead.objects.get(pk=merged_id),
                actor=request.user,
                choices=body.validated_data["fields"],
                score=pair.score,
                reasons=pair.reasons,
            )
        return Response(MergeSerializer(merge).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary='"Not a duplicate": never proposed again', request=None, responses=DuplicateCandidateSerializer
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        with merge_errors():
            pair = candidate_dismiss(candidate=self.get_object(), actor=request.user)
        return Response(DuplicateCandidateSerializer(pair).data)
