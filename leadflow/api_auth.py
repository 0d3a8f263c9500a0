"""``POST /api/auth/token/`` (username and password, throttled) and ``POST /api/auth/token/rotate/``."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leadflow.auth import (
    login_failure_record,
    login_failures_clear,
    login_is_throttled,
    request_ip,
    throttled_message,
    token_issue,
)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`")
    expires_at = serializers.DateTimeField(help_text="After this the token is refused with 401; rotate before")


def _token_body(token: Token) -> dict[str, object]:
    body = {"token": token.key, "expires_at": token.created + timedelta(seconds=settings.API_TOKEN_TTL)}
    return TokenSerializer(body).data


class TokenObtainView(APIView):
    """An integration's token from a username and password; failed attempts count towards the login throttle."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = AuthTokenSerializer

    @extend_schema(
        operation_id="auth_token_create",
        summary="Get an API token",
        request=AuthTokenSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Wrong username or password"),
            429: OpenApiResponse(description="Too many failed attempts; see Retry-After"),
        },
    )
    def post(self, request: Request) -> Response:
        username = str(request.data.get("username", ""))[:150]
        ip_address = request_ip(request)
        if username and login_is_throttled(username=username, ip_address=ip_address):
            raise Throttled(wait=settings.LOGIN_LOCKOUT_SECONDS, detail=throttled_message())
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            if username:
                login_failure_record(username=username, ip_address=ip_address)
            serializer.is_valid(raise_exception=True)
        login_failures_clear(username=username, ip_address=ip_address)
        return Response(_token_body(token_issue(user=serializer.validated_data["user"])))


class TokenRotateView(APIView):
    """A new token for the caller; the one used until now stops working at once."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="auth_token_rotate", summary="Rotate your API token", request=None,
                   responses={200: TokenSerializer})  # fmt: skip
    def post(self, request: Request) -> Response:
        return Response(_token_body(token_issue(user=request.user, rotate=True)))
