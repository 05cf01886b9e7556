from django.urls import path

from meshview.mesh.api import views

urlpatterns = [
    path("ingest/envoy", views.EnvoyIngestView.as_view(), name="ingest-envoy"),
    path("workloads", views.WorkloadListView.as_view(), name="workloads"),
    path("namespaces", views.NamespaceListView.as_view(), name="namespaces"),
]
