"""Root URL configuration: pages, the REST API under /api/, its schema and docs, the Django admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from leadflow.admin_audit import audit_admin_site
from leadflow.auth import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm
from leadflow.views import ApiDocsView, healthz

# The admin's own login counts failures with the rest (leadflow.auth).
admin.site.login_form = ThrottledAdminAuthenticationForm
# Every admin edit of any model leaves an AuditEvent with before/after (leadflow.admin_audit).
audit_admin_site()

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("leadflow.api_urls")),
    path("", include("leads.urls")),
    path("", include("routing.urls")),
    path("", include("scoring.urls")),
    path("", include("reports.urls")),
    path("", include("dedupe.urls")),
]
