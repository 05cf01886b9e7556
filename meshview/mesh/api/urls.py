from django.urls import path

from meshview.core.offload import in_own_thread
from meshview.mesh.api import views

urlpatterns = [
    path("ingest/envoy", in_own_thread(views.EnvoyIngestView.as_view()), name="ingest-envoy"),
    path("workloads", views.WorkloadListView.as_view(), name="workloads"),
    path("namespaces", views.NamespaceListView.as_view(), name="namespaces"),
]
