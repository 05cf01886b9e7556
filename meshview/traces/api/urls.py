from django.urls import path

from meshview.traces.api import request_ids, views

urlpatterns = [
    path("traces", views.TraceListView.as_view(), name="trace-list"),
    path("traces/request-ids/<str:request_id>", request_ids.RequestIdTracesView.as_view(), name="trace-request-id"),
]
