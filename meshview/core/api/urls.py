from rest_framework.routers import SimpleRouter

from meshview.core.api.views import ApiTokenViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tokens", ApiTokenViewSet)

urlpatterns = router.urls
