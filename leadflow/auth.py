"""Signing in: login throttling, API tokens that expire and can be rotated.

Failed sign-ins are counted in the cache per username and client address, for the login page, the
Django admin's login and ``POST /api/auth/token/`` alike; past ``LOGIN_MAX_FAILURES`` within
``LOGIN_LOCKOUT_SECONDS`` that pair is refused (even with the right password) until the window
passes. Point ``CACHE_URL`` at Redis so every web process shares the count.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

TOO_MANY_ATTEMPTS = (
    "Too many failed sign-in attempts for this username from your address. Try again in {minutes} minutes."
)


def _attempts_key(username: str, ip_address: str | None) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip_address or ''}".encode()).hexdigest()
    return f"login-failures:{digest}"


def login_is_throttled(*, username: str, ip_address: str | None) -> bool:
    """Whether this username may not try again from this address yet."""
    return (cache.get(_attempts_key(username, ip_address)) or 0) >= settings.LOGIN_MAX_FAILURES


def login_failure_record(*, username: str, ip_address: str | None) -> int:
    """Count one failed sign-in; the window starts at the first failure and is not extended."""
    key = _attempts_key(username, ip_address)
    if cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        return 1


def login_failures_clear(*, username: str, ip_address: str | None) -> None:
    cache.delete(_attempts_key(username, ip_address))


def throttled_message() -> str:
    return TOO_MANY_ATTEMPTS.format(minutes=max(1, settings.LOGIN_LOCKOUT_SECONDS // 60))


def request_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


class ThrottledLoginMixin:
    """For Django's authentication forms: refuse a throttled username+address before checking the password."""

    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "") or ""
        ip_address = request_ip(self.request)
        if username and login_is_throttled(username=username, ip_address=ip_address):
            raise forms.ValidationError(throttled_message(), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if username and error.code == "invalid_login":
                login_failure_record(username=username, ip_address=ip_address)
            raise
        login_failures_clear(username=username, ip_address=ip_address)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


# --- API tokens ----------------------------------------------------------------------------------


def token_is_expired(token: Token) -> bool:
    return token.created < timezone.now() - timedelta(seconds=settings.API_TOKEN_TTL)


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token …``, refused with 401 once older than ``API_TOKEN_TTL`` seconds."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            raise AuthenticationFailed("This token has expired; get a new one with POST /api/auth/token/.")
        return user, token


@transaction.atomic
def token_issue(*, user: AbstractBaseUser, rotate: bool = False) -> Token:
    """The user's API token: the current one while it is valid, else (or with ``rotate``) a new one.

    A user has one token; issuing a new one revokes the old at once.
    """
    from leads.services import audit_record

    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not rotate and not token_is_expired(token):
        return token
    if token is not None:
        token.delete()
    new = Token.objects.create(user=user)
    # The key itself never goes into the trail; that a token was replaced, and when, does.
    reason = "rotated" if rotate else ("expired" if token is not None else "first")
    audit_record(actor=user, action="user.token_issue", obj=user, changes={"token": [None, reason]})
    return new
