from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "EventViz admin"
admin.site.site_title = "EventViz"
admin.site.index_title = "Topologies, channels and routing rules"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("flows.urls")),
]
