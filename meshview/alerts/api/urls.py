from rest_framework.routers import SimpleRouter

from meshview.alerts.api.views import AlertViewSet, DeliveryViewSet, ReceiverViewSet, RuleViewSet, SilenceViewSet

router = SimpleRouter(trailing_slash=False)
# The alerts themselves last: `alerts/<id>` must not swallow `alerts/rules`.
router.register("alerts/receivers", ReceiverViewSet, basename="alert-receiver")
router.register("alerts/rules", RuleViewSet, basename="alert-rule")
router.register("alerts/silences", SilenceViewSet, basename="alert-silence")
router.register("alerts/deliveries", DeliveryViewSet, basename="alert-delivery")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = router.urls
