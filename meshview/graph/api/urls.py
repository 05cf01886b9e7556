from django.urls import path

from meshview.graph.api import metrics, views

urlpatterns = [
    path("graph", views.GraphView.as_view(), name="graph"),
    path("graph/node", views.NodeGraphView.as_view(), name="graph-node"),
    path("graph/metrics", metrics.GraphMetricsView.as_view(), name="graph-metrics"),
]
