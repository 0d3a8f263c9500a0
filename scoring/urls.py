from django.urls import path

from scoring import views

app_name = "scoring"
urlpatterns = [
    path("definition/", views.definition_current, name="definition"),
    path("definition/<int:version>/", views.definition_version, name="version"),
]
