from __future__ import annotations

from django.urls import path

from flows import views
from flows.recorder import exports, metrics

app_name = "flows"

urlpatterns = [
    path("", views.topology_list, name="topology_list"),
    path("topologies/<slug:slug>/", views.topology_detail, name="topology"),
    path("topologies/<slug:slug>/coupling/", views.coupling_report, name="coupling"),
    path("topologies/<slug:slug>/export/<str:fmt>/", views.topology_export, name="export"),
    path("topologies/<slug:slug>/run/", views.run_start, name="run_start"),
    path("import/", views.topology_import, name="import"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path(
        "topologies/<slug:slug>/runs/<int:run_id>/hops.jsonl",
        exports.run_hops_jsonl,
        name="run_hops_jsonl",
    ),
]
