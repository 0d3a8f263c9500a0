"""Every REST endpoint, registered on one router, and the token endpoint for integrations."""

from django.urls import path
from rest_framework.routers import DefaultRouter

import leadflow.schema  # noqa: F401  (registers the schema extensions)
from dedupe.api.views import DuplicateCandidateViewSet, LeadDuplicatesView, LeadMergeView, MergeViewSet
from leadflow.api_auth import TokenObtainView, TokenRotateView
from leads.api.activities import ActivityEventView
from leads.api.intake import IntakeStatusView, IntakeView
from leads.api.lifecycle import LeadConvertView, LeadExportView, OpportunityViewSet, ReasonViewSet
from leads.api.views import (
    AccountViewSet,
    AuditEventViewSet,
    CampaignViewSet,
    ContactViewSet,
    LeadDefinitionViewSet,
    LeadViewSet,
    SourceViewSet,
)
from reports.api.views import REPORT_VIEWS
from routing.api.views import (
    NotificationViewSet,
    OverflowViewSet,
    QueueView,
    RepViewSet,
    RouteTestView,
    TerritoryViewSet,
)

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("sources", SourceViewSet, basename="source")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("lead-definitions", LeadDefinitionViewSet, basename="leaddefinition")
router.register("territories", TerritoryViewSet, basename="territory")
router.register("reps", RepViewSet, basename="rep")
router.register("overflow", OverflowViewSet, basename="overflow")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("merges", MergeViewSet, basename="merge")
router.register("duplicates", DuplicateCandidateViewSet, basename="duplicatecandidate")
router.register("opportunities", OpportunityViewSet, basename="opportunity")
router.register("reasons", ReasonViewSet, basename="reason")

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("auth/token/rotate/", TokenRotateView.as_view(), name="api-token-rotate"),
    path("intake/", IntakeView.as_view(), name="intake"),
    path("intake/<uuid:submission_id>/", IntakeStatusView.as_view(), name="intake-status"),
    path("activities/", ActivityEventView.as_view(), name="activity-events"),
    path("queue/", QueueView.as_view(), name="queue"),
    path("routing/test/", RouteTestView.as_view(), name="routing-test"),
    path("leads/<int:pk>/duplicates/", LeadDuplicatesView.as_view(), name="lead-duplicates"),
    path("leads/<int:pk>/merge/", LeadMergeView.as_view(), name="lead-merge"),
    path("leads/<int:pk>/convert/", LeadConvertView.as_view(), name="lead-convert"),
    path("leads/export.csv", LeadExportView.as_view(), name="lead-export"),
    *(path(f"reports/{name}/", view.as_view(), name=f"report-{name}") for name, view in REPORT_VIEWS.items()),
    *router.urls,
]
