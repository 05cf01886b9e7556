from django.urls import path

from meshview.traces.api import views

urlpatterns = [
    path("traces", views.TraceListView.as_view(), name="trace-list"),
]
