from django.urls import path

from routing import views

app_name = "routing"
urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/claim/<int:pk>/", views.claim, name="claim"),
]
