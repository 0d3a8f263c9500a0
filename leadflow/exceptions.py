"""How the API answers when the database is unreachable: 503 with Retry-After, never a bare 500.

A client (a web form's backend, an integration) that gets 503 knows to send the same request
again later; a 500 reads as "your request is wrong" and is often not retried.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler

#: Seconds a client is asked to wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service cannot reach its database just now; send the same request again shortly."
    default_code = "database_unavailable"
    # DRF's handler turns ``wait`` into the Retry-After header.
    wait = RETRY_AFTER_SECONDS


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a lost or refused database connection becomes 503 + Retry-After."""
    if isinstance(exc, OperationalError | InterfaceError):
        exc = DatabaseUnavailable()
    return exception_handler(exc, context)
