"""Activities over HTTP: a person adds one to a lead, a tool reports engagement by e-mail address.

- ``POST /api/leads/{id}/activities/`` (``LeadViewSet.activities_create``): signed-in users with
  ``leads.add_activity`` on a lead they can see.
- ``POST /api/activities/``: a tool (marketing automation, webinar platform...) with its source's
  key, as for web-to-lead intake; the activity goes on every active lead of that source (or that it sent
  a record into) with that e-mail address.

Both answer at once; the rescoring the activity causes runs in a worker.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from leads.activities import (
    BODY_MAX,
    FUTURE_TOLERANCE,
    META_MAX_BYTES,
    SUBJECT_MAX,
    SYSTEM_KIND,
    URL_MAX,
    activities_record_by_email,
)
from leads.api.intake import HasSourceKey, SourceKeyAuthentication, SourceRateThrottle
from leads.models import Activity, Source
from leads.services import LeadOperationError


# The kinds are one enum, ActivityKindEnum (named after ``Activity.kind``), wherever they appear;
# without this, the request serializers would give the same choice set another, clashing name.
@extend_schema_field({"$ref": "#/components/schemas/ActivityKindEnum"})
class ActivityKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Activity.Kind.choices, **kwargs)


class ActivityCreateSerializer(serializers.Serializer):
    """An activity to record. The service checks the same rules; these give field-by-field 400s first."""

    kind = ActivityKindField(help_text="Any kind but system (LeadFlow writes those itself)")
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text="When it happened, with its UTC offset; now if left out. "
        f"At most {int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes in the future.",
    )
    subject = serializers.CharField(max_length=SUBJECT_MAX, required=False, allow_blank=True, default="")
    url = serializers.CharField(max_length=URL_MAX, required=False, allow_blank=True, default="")
    body = serializers.CharField(
        max_length=BODY_MAX, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    meta = serializers.DictField(
        required=False, default=dict, help_text=f"Any details as a JSON object, up to {META_MAX_BYTES} bytes"
    )

    def validate_kind(self, value: str) -> str:
        if value == SYSTEM_KIND:
            raise serializers.ValidationError("System notices are written by LeadFlow itself; choose another kind.")
        return value

    def validate_occurred_at(self, value: Any) -> Any:
        if value > timezone.now() + FUTURE_TOLERANCE:
            minutes = int(FUTURE_TOLERANCE.total_seconds() // 60)
            raise serializers.ValidationError(f"The activity cannot be more than {minutes} minutes in the future.")
        return value


class ActivityEventSerializer(ActivityCreateSerializer):
    email = serializers.CharField(max_length=254, help_text="The person's e-mail address, as the tool knows it")


class ActivityEventReceiptSerializer(serializers.Serializer):
    activities = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the activities made")
    leads = serializers.ListField(child=serializers.IntegerField(), help_text="The leads they went on")


def service_error_as_400(exc: LeadOperationError) -> ValidationError:
    return ValidationError({exc.field or api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})


class ActivityEventView(APIView):
    """``POST /api/activities/``: a tool reports what a person did, by their e-mail address."""

    authentication_classes = [SourceKeyAuthentication]
    permission_classes = [HasSourceKey]
    throttle_classes = [SourceRateThrottle]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="activities_report",
        summary="Report an activity by e-mail address (tools, with the source's key)",
        description="The activity goes on every active lead with this e-mail address (compared trimmed and "
        "lower-cased) that came from the key's source or that the source sent a record into; another source's "
        "leads are not found (404). Engagement kinds rescore those leads in the background; one that reaches the MQL "
        "threshold becomes an MQL.",
        request=ActivityEventSerializer,
        responses={
            202: ActivityEventReceiptSerializer,
            400: OpenApiResponse(description="The field at fault and why"),
            404: OpenApiResponse(description="No active lead of this source has this e-mail address"),
            429: OpenApiResponse(description="Rate limit of this source; see Retry-After"),
        },
    )
    def post(self, request: Request) -> Response:
        source: Source = request.auth
        serializer = ActivityEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            activities = activities_record_by_email(
                source=source,
                email=data["email"],
                kind=data["kind"],
                occurred_at=data.get("occurred_at"),
                subject=data["subject"],
                url=data["url"],
                body=data["body"],
                meta=data["meta"],
            )
        except LeadOperationError as exc:
            raise service_error_as_400(exc) from exc
        if not activities:
            raise NotFound(
                f"No active lead of this source has the e-mail address {data['email'].strip()!r}; nothing was recorded."
            )
        body = {"activities": [a.pk for a in activities], "leads": [a.lead_id for a in activities]}
        return Response(ActivityEventReceiptSerializer(body).data, status=status.HTTP_202_ACCEPTED)
