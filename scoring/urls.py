from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("definition/", views.definition_current, name="definition"),
    path("definition/new/", views.definition_new, name="new"),
    path("definition/compare/", views.definition_compare, name="compare"),
    path("definition/<int:version>/", views.definition_version, name="version"),
    path("definition/<int:version>/edit/", views.definition_edit, name="edit"),
    path("definition/<int:version>/preview/", views.definition_preview, name="preview"),
    path("definition/<int:version>/approve/", views.definition_approve_view, name="approve"),
    path("definition/<int:version>/publish/", views.definition_publish_view, name="publish"),
    path("definition/<int:version>/rescore/", views.definition_rescore, name="rescore"),
    path("definition/<int:version>/restore/", views.definition_restore_view, name="restore"),
]
