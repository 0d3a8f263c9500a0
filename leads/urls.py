from django.urls import include, path

from leads import views

# The start page is named plain "home" (settings.LOGIN_REDIRECT_URL names it), so it sits
# outside the "leads" namespace; the lead pages are "leads:<name>".
lead_patterns = (
    [
        path("leads/", views.inbox, name="inbox"),
        path("leads/<int:pk>/", views.lead_detail, name="detail"),
        path("leads/<int:pk>/stage/", views.lead_stage, name="stage"),
    ],
    "leads",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("", include(lead_patterns)),
]
