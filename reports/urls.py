from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.dashboard, name="dashboard"),
    path("reports/<slug:name>.csv", views.report_csv, name="csv"),
]
