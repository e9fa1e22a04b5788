from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from flows.aws import views as aws_views

admin.site.site_header = "EventViz admin"
admin.site.site_title = "EventViz"
admin.site.index_title = "Topologies, channels and routing rules"

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=static("flows/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    # The AWS-compatible endpoint: one path (and queue URLs under it) for SQS, SNS, EventBridge.
    re_path(r"^aws(?:/.*)?$", aws_views.endpoint, name="aws"),
    path("", include("flows.urls")),
]
