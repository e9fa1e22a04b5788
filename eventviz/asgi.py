from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventviz.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the websocket routes import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from eventviz.origins import WebsocketOriginValidator  # noqa: E402
from flows.live.transport import WriteBufferMiddleware  # noqa: E402
from flows.ws_urls import websocket_urlpatterns  # noqa: E402

# Outermost, so that it sees Daphne's own ``send`` (see flows/live/transport.py).
application = WriteBufferMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # Origin matched on scheme, host and port (eventviz/origins.py), then the session.
            "websocket": WebsocketOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
