"""Web-to-lead intake over HTTP: ``POST /api/intake/`` with the source's own key.

The raw submission is stored and answered at once (202 with a tracking id); the pipeline runs in
Celery. ``Idempotency-Key`` makes a retry return the first answer. Each source has its own rate
limit (429 with Retry-After); a database that cannot store the submission gives 503 with
Retry-After, never a lost lead.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError
from django.http import QueryDict
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from leads.intake import IntakeError, submission_receive
from leads.models import Source, Submission

SOURCE_KEY_HEADER = "X-Source-Key"


class SourceKeyAuthentication(BaseAuthentication):
    """``X-Source-Key: lf_...`` (or ``Authorization: SourceKey lf_...``) identifies an active source."""

    keyword = "SourceKey"

    def authenticate(self, request: Request) -> tuple[Any, Source] | None:
        key = request.headers.get(SOURCE_KEY_HEADER, "").strip()
        if not key:
            parts = get_authorization_header(request).split()
            if len(parts) == 2 and parts[0].decode(errors="replace") == self.keyword:
                key = parts[1].decode(errors="replace")
        if not key:
            return None
        source = Source.by_api_key(key)  # the current key, or the previous one within its grace period
        if source is None:
            raise AuthenticationFailed("Unknown or revoked source key.")
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), source

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class SourceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "leads.api.intake.SourceKeyAuthentication"
    name = "sourceKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": SOURCE_KEY_HEADER}


class HasSourceKey(BasePermission):
    message = f"Send the source's API key in the {SOURCE_KEY_HEADER} header."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Source)


class SourceRateThrottle(BaseThrottle):
    """Each source's own ``rate_limit_per_minute``, counted per source whatever address sends.

    A fixed one-minute window counted with the cache's atomic ``incr``: one round trip a request
    whatever the limit (DRF's sliding-window throttle stores every request's time, which grows
    with the limit). Point ``CACHE_URL`` at Redis so every web process shares the count.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        source = request.auth
        if not isinstance(source, Source):
            return True
        now = time.time()
        window = int(now // 60)
        key = f"intake-rate:{source.pk}:{window}"
        if cache.add(key, 1, timeout=120):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=120)
                count = 1
        self.retry_after = 60 - (now % 60)
        return count <= source.rate_limit_per_minute

    def wait(self) -> float:
        return self.retry_after


class IntakeReceiptSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Tracking id of the stored submission")
    status_url = serializers.CharField()
    lead = serializers.IntegerField(allow_null=True)
    spam = serializers.BooleanField()
    replayed = serializers.BooleanField(help_text="True when this answers a retry with the same Idempotency-Key")


class IntakeStatusSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    received_at = serializers.DateTimeField()
    lead = serializers.IntegerField(allow_null=True)
    pipeline_state = serializers.CharField(allow_null=True)
    stage = serializers.CharField(allow_null=True)
    junk_reason = serializers.CharField(allow_null=True)


def _flat(data: Any) -> Any:
    if isinstance(data, QueryDict):
        return {key: values[0] if len(values) == 1 else values for key, values in data.lists()}
    return data


class IntakeView(APIView):
    authentication_classes = [SourceKeyAuthentication]
    permission_classes = [HasSourceKey]
    throttle_classes = [SourceRateThrottle]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        operation_id="intake_create",
        summary="Submit a lead (web-to-lead)",
        description=(
            "Lead fields (first_name, last_name, email, phone, company, website, title, industry, employees, "
            "street, city, state, postal_code, country, external_id, campaign) plus any extra fields, as JSON or "
            "a form post. At least an e-mail, a phone or a name is needed."
        ),
        request={"application/json": OpenApiTypes.OBJECT, "application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="A retry with the same key returns the first answer and makes no second lead.",
            )
        ],
        responses={
            202: IntakeReceiptSerializer,
            400: OpenApiResponse(description="The field at fault and why"),
            429: OpenApiResponse(description="Rate limit of this source; see Retry-After"),
            503: OpenApiResponse(description="Could not store it now; retry after Retry-After"),
        },
    )
    def post(self, request: Request) -> Response:
        source: Source = request.auth
        meta = {
            "ip": request.META.get("REMOTE_ADDR", ""),
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "content_type": request.content_type.split(";")[0][:100],
            "referer": request.headers.get("Referer", "")[:300],
        }
        try:
            result = submission_receive(
                source=source,
                payload=_flat(request.data),
                idempotency_key=request.headers.get("Idempotency-Key", ""),
                meta=meta,
            )
        except IntakeError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        except DatabaseError:
            return Response(
                {"detail": "The submission could not be stored just now; send it again."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        submission = result.submission
        body = {
            "id": submission.id,
            "status_url": request.build_absolute_uri(f"/api/intake/{submission.id}/"),
            "lead": submission.lead_id,
            "spam": bool(submission.spam_reason),
            "replayed": not result.created,
        }
        return Response(IntakeReceiptSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class IntakeStatusView(APIView):
    authentication_classes = [SourceKeyAuthentication]
    permission_classes = [HasSourceKey]
    throttle_classes = [SourceRateThrottle]

    @extend_schema(operation_id="intake_status", summary="Where a submission is in the pipeline",
                   responses={200: IntakeStatusSerializer})  # fmt: skip
    def get(self, request: Request, submission_id: str) -> Response:
        submission = Submission.objects.filter(pk=submission_id, source=request.auth).select_related("lead").first()
        if submission is None:
            raise NotFound("No submission with this id from this source.")
        lead = submission.lead
        body = {
            "id": submission.id,
            "received_at": submission.received_at,
            "lead": lead.pk if lead else None,
            "pipeline_state": lead.pipeline_state if lead else None,
            "stage": lead.stage if lead else None,
            "junk_reason": (lead.junk_reason or None) if lead else None,
        }
        return Response(IntakeStatusSerializer(body).data)
