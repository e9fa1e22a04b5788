from __future__ import annotations

from django.urls import path

from flows.live.socket import TopologyConsumer

websocket_urlpatterns = [
    path("ws/topologies/<slug:slug>/", TopologyConsumer.as_asgi()),
]
