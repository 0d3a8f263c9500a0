"""Every REST endpoint, registered on one router."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns = router.urls
