"""Operations by (service, name): each is a handler that translates one AWS call.

A handler takes the caller (``Call``) and the parsed parameters and returns the output
members; it raises ``AwsError`` for AWS's answers of refusal. Plain functions run in a
worker thread inside one transaction (nothing half-applied); a coroutine function runs
on the event loop as it is, for calls that wait (long polling) without holding a thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flows.aws.models import ApiKey
from flows.models import Topology

Handler = Callable[["Call", dict[str, Any]], Any]


@dataclass
class Call:
    """Who is calling, about which topology, and how ARNs and URLs are to be spelled."""

    topology: Topology
    key: ApiKey | None
    account: str
    region: str
    host: str
    scheme: str
    service: str
    operation: str
    user_agent: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Any:
        return self.key.user if self.key is not None else None

    @property
    def reason(self) -> str:
        who = f"key {self.key.access_key_id}" if self.key is not None else "unsigned local use"
        return f"changed through the API by {who}"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.host}/aws"


@dataclass(frozen=True)
class Operation:
    service: str
    name: str
    handler: Handler
    write: bool

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)


REGISTRY: dict[tuple[str, str], Operation] = {}


def operation(service: str, name: str, *, write: bool) -> Callable[[Handler], Handler]:
    """Register a handler; ``write`` ones are refused to read-only keys."""

    def register(handler: Handler) -> Handler:
        REGISTRY[(service, name)] = Operation(service, name, handler, write)
        return handler

    return register


def find(service: str, name: str) -> Operation | None:
    """The registered operation; the handler modules register on import (``flows.aws.views``
    imports them all)."""
    return REGISTRY.get((service, name))
