"""The websocket Origin check: scheme, host and port must match exactly.

A browser sends ``Origin`` with every websocket handshake; a page of another site must
not be able to open a socket with the visitor's session cookie (cross-site websocket
hijacking). Channels' ``AllowedHostsOriginValidator`` compares host names only (any
port of localhost passed) and accepts every origin when ``ALLOWED_HOSTS`` holds ``*``.
This check accepts an origin when it is

1. the server's own origin: ``http(s)://<Host header>``, the Host being one of
   ``ALLOWED_HOSTS`` (the rule Django's CSRF check applies to form posts), or
2. listed in ``WEBSOCKET_ALLOWED_ORIGINS`` (environment ``ALLOWED_ORIGINS``; default:
   ``http://<each ALLOWED_HOSTS name>:<PORT>`` and ``CSRF_TRUSTED_ORIGINS``). An entry
   may name subdomains as ``https://*.example.com``; scheme and port still match exactly.

A handshake without an Origin header, or with ``Origin: null``, is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """``scheme://host[:port]`` as (scheme, host, port), or None when it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def check_origin_setting(origins: Iterable[str], name: str) -> list[str]:
    """Fail loudly on an entry that is not ``scheme://host[:port]``."""
    from django.core.exceptions import ImproperlyConfigured

    origins = list(origins)
    for origin in origins:
        if origin == "*" or parse_origin(origin.replace("://*.", "://wildcard.")) is None:
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin; write scheme://host[:port], "
                "e.g. https://eventviz.example.com"
            )
    return origins


def origin_matches(origin: Origin, pattern: str) -> bool:
    if "://*." in pattern:
        wanted = parse_origin(pattern.replace("://*.", "://wildcard."))
        if wanted is None:
            return False
        suffix = "." + wanted[1].removeprefix("wildcard.")
        return (origin[0], origin[2]) == (wanted[0], wanted[2]) and origin[1].endswith(suffix)
    return origin == parse_origin(pattern)


def own_origin(scope: dict[str, Any], allowed_hosts: list[str]) -> Origin | None:
    """The origin of the page's own server, when the Host header is an allowed host."""
    from django.http.request import split_domain_port, validate_host

    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return parse_origin(f"{scheme}://{host}")


def origin_allowed(scope: dict[str, Any], *, allowed_hosts: list[str], allowed: list[str]) -> bool:
    raw = _header(scope, b"origin")
    origin = parse_origin(raw) if raw else None
    if origin is None:
        return False
    if origin == own_origin(scope, allowed_hosts):
        return True
    return any(origin_matches(origin, pattern) for pattern in allowed)


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


class WebsocketOriginValidator:
    """ASGI middleware: refuse a websocket handshake whose Origin is not allowed."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        from channels.security.websocket import WebsocketDenier
        from django.conf import settings

        if scope["type"] == "websocket" and not origin_allowed(
            scope,
            allowed_hosts=settings.ALLOWED_HOSTS,
            allowed=settings.WEBSOCKET_ALLOWED_ORIGINS,
        ):
            log.warning(
                "websocket refused: origin %r is neither this server's own nor one of %s",
                _header(scope, b"origin"),
                ", ".join(settings.WEBSOCKET_ALLOWED_ORIGINS) or "(none)",
            )
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
