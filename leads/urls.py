from django.urls import include, path

from leads import audit_views, import_views, lifecycle_views, views

# The start page is named plain "home" (settings.LOGIN_REDIRECT_URL names it), so it sits
# outside the "leads" namespace; the lead pages are "leads:<name>".
lead_patterns = (
    [
        path("leads/", views.inbox, name="inbox"),
        path("leads/<int:pk>/", views.lead_detail, name="detail"),
        path("leads/<int:pk>/stage/", views.lead_stage, name="stage"),
        path("leads/<int:pk>/convert/", lifecycle_views.lead_convert_page, name="convert"),
        path("opportunities/<int:pk>/close/", lifecycle_views.opportunity_close_page, name="opportunity_close"),
        path("opportunities/<int:pk>/edit/", lifecycle_views.opportunity_edit_page, name="opportunity_edit"),
        path("reasons/", lifecycle_views.reasons_page, name="reasons"),
        path("reasons/<int:pk>/", lifecycle_views.reason_edit_page, name="reason_edit"),
        path("leads/bulk/", views.inbox_bulk, name="bulk"),
        path("leads/export/", views.inbox_export, name="export"),
        path("leads/views/", views.saved_view_new, name="saved_view_new"),
        path("leads/views/<int:pk>/delete/", views.saved_view_remove, name="saved_view_delete"),
        path("imports/", import_views.import_list, name="imports"),
        path("imports/new/", import_views.import_new, name="import_new"),
        path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
        path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
        path("imports/<int:pk>/errors.csv", import_views.import_errors_csv, name="import_errors"),
        path("imports/<int:pk>/discard/", import_views.import_discard, name="import_discard"),
        path("audit/", audit_views.audit_log, name="audit"),
        path("audit/export.csv", audit_views.audit_log_csv, name="audit_csv"),
    ],
    "leads",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("", include(lead_patterns)),
]
