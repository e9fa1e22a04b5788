"""How many bytes a websocket's transport holds that the client has not read yet.

Daphne never pushes back: ``send`` hands a frame to autobahn, which hands it to Twisted's
TCP transport, which keeps whatever the kernel will not take in an unbounded buffer. A
client that reads nothing so makes Daphne hold every byte sent to it (issue 16.4). The
consumer can only bound that if it can see the buffer, so the outermost ASGI middleware
finds the connection's transport behind Daphne's ``send`` and puts a probe in the scope.

Under another server (or WebsocketCommunicator) there is no probe and no bound; tests put
a probe of their own in the scope.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# The scope extension that holds the probe: a callable returning the bytes waiting.
WRITE_BUFFER = "eventviz.write_buffer"

Probe = Callable[[], int]


def transport_buffered(transport: Any) -> int:
    """Bytes a Twisted transport holds unsent: its buffer, and a wrapped transport's (TLS)."""
    total = 0
    seen = 0
    while transport is not None and seen < 4:
        seen += 1
        # twisted.internet.abstract.FileDescriptor keeps written bytes in dataBuffer (sent
        # up to offset) and _tempDataBuffer (_tempDataLen bytes, joined on the next write).
        data = getattr(transport, "dataBuffer", None)
        if isinstance(data, bytes | bytearray | memoryview):
            total += len(data) - int(getattr(transport, "offset", 0))
            total += int(getattr(transport, "_tempDataLen", 0))
            return total
        # A ProtocolWrapper (TLS, policies) writes to the transport below it.
        transport = getattr(transport, "transport", None)
    return total


def write_buffer_probe(send: Any) -> Probe | None:
    """A probe for the connection behind Daphne's ``send`` (``partial(handle_reply, protocol)``)."""
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    if not hasattr(protocol, "transport"):
        return None
    # Read the transport at each call: it is gone (None) once the connection is lost.
    return lambda: transport_buffered(protocol.transport)


class WriteBufferMiddleware:
    """Outermost ASGI middleware: websocket scopes get ``extensions[WRITE_BUFFER]``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            probe = write_buffer_probe(send)
            if probe is not None:
                extensions = {**(scope.get("extensions") or {}), WRITE_BUFFER: probe}
                scope = {**scope, "extensions": extensions}
        return await self.inner(scope, receive, send)
