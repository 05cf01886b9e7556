"""Kiali's graph API at Kiali's own paths, mounted under /kiali/ (kiali/kiali routing/routes.go)."""

from django.urls import path

from meshview.graph.api import views

urlpatterns = [
    path("api/namespaces/graph", views.KialiNamespacesGraphView.as_view(), name="kiali-graph-namespaces"),
    path("api/namespaces/<str:namespace>/workloads/<str:workload>/graph", views.KialiNodeGraphView.as_view(),
         name="kiali-graph-workload"),
    path("api/namespaces/<str:namespace>/applications/<str:app>/graph", views.KialiNodeGraphView.as_view(),
         name="kiali-graph-app"),
    path("api/namespaces/<str:namespace>/applications/<str:app>/versions/<str:version>/graph",
         views.KialiNodeGraphView.as_view(), name="kiali-graph-app-version"),
    path("api/namespaces/<str:namespace>/services/<str:service>/graph", views.KialiNodeGraphView.as_view(),
         name="kiali-graph-service"),
]
