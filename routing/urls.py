from django.urls import path

from routing import views

app_name = "routing"
urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/appetite/", views.appetite, name="appetite"),
    path("queue/claim/<int:pk>/", views.claim, name="claim"),
    path("queue/accept/<int:pk>/", views.accept, name="accept"),
    path("queue/reject/<int:pk>/", views.reject, name="reject"),
]
