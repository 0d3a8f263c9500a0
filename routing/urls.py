from django.urls import path

from routing import views

app_name = "routing"
urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/appetite/", views.appetite, name="appetite"),
    path("queue/claim/<int:pk>/", views.claim, name="claim"),
    path("queue/accept/<int:pk>/", views.accept, name="accept"),
    path("queue/reject/<int:pk>/", views.reject, name="reject"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("reps/", views.reps, name="reps"),
    path("reps/<int:pk>/edit/", views.rep_edit, name="rep_edit"),
    path("territories/", views.territories, name="territories"),
    path("territories/new/", views.territory_new, name="territory_new"),
    path("territories/test/", views.route_test, name="route_test"),
    path("territories/<slug:slug>/edit/", views.territory_edit, name="territory_edit"),
    path("territories/<slug:slug>/delete/", views.territory_delete_view, name="territory_delete"),
]
