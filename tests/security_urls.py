"""The app's URLs plus views that fail on purpose, for the error-page and log tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from leadflow.urls import urlpatterns as app_urlpatterns


class Boom(Exception):
    pass


def fail(request: HttpRequest) -> HttpResponse:
    """A view that crashes with the request's secrets in its local variables and the request itself."""
    password = request.POST.get("password")
    token = request.headers.get("Authorization")
    raise Boom(f"something broke while handling {request.path}")  # the secrets are in scope, not in the message
    return HttpResponse(password or token)  # pragma: no cover


urlpatterns = [path("boom/", fail), *app_urlpatterns]
