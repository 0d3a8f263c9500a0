from django.urls import path

from dedupe import views

app_name = "dedupe"

urlpatterns = [
    path("duplicates/", views.review_queue, name="queue"),
    path("duplicates/job/", views.dedupe_job_progress, name="job"),
    path("duplicates/<int:pk>/", views.pair_detail, name="pair"),
    path("duplicates/<int:pk>/merge/", views.pair_merge, name="merge"),
    path("duplicates/<int:pk>/dismiss/", views.pair_dismiss, name="dismiss"),
    path("duplicates/merges/<int:pk>/undo/", views.merge_undo_page, name="merge_undo"),
]
