"""Project-level endpoints that belong to no domain app."""

from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the app answers and reaches its database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure means unhealthy
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok"})


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI, its start-up script a file (no inline script). Swagger UI sets ``style`` attributes as
    it draws, so this one page allows inline *styles*; scripts stay as strict as everywhere else."""

    @extend_schema(exclude=True)
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy:
            directives = [d.strip() for d in policy.split(";") if d.strip() and not d.strip().startswith("style-src")]
            response["Content-Security-Policy"] = "; ".join([*directives, "style-src 'self' 'unsafe-inline'"])
        return response
