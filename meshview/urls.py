"""meshview's URLs; each domain adds its own under /api/v1/ and its protocol paths."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from meshview.core import views as core_views
from meshview.core.schema import HEALTHZ, METRICS, READYZ, documented

urlpatterns = [
    path("healthz", documented(core_views.healthz, HEALTHZ), name="healthz"),
    path("readyz", documented(core_views.readyz, READYZ), name="readyz"),
    path("metrics", documented(core_views.metrics, METRICS), name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("meshview.core.api.urls")),
    path("api/v1/", include("meshview.mesh.api.urls")),
    path("api/v1/", include("meshview.graph.api.urls")),
    path("kiali/", include("meshview.graph.api.kiali_urls")),
    path("api/v1/", include("meshview.traces.api.urls")),
    path("api/v1/", include("meshview.alerts.api.urls")),
    path("", include("meshview.traces.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", core_views.frontend, name="ui"),
    path("graph", core_views.frontend),
    path("traces", core_views.frontend),
    path("traces/<str:trace_id>", core_views.frontend),
    path("alerts", core_views.frontend),
    path("dependencies", core_views.frontend),
    re_path(r"^(?P<path>.+)$", core_views.frontend_not_found),
]
