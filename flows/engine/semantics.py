"""Delivery rules that the engine and the coupling report must agree on (no Django).

The engine carries them out; the coupling judges (``flows.coupling``) predict the same
paths from the stored topology. Each rule is defined here once so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

MAX_ROUTING_DEPTH = 8
"""Channel-to-channel hops one message may take (bus -> bus -> ... loops end there)."""


class _HasConsumer(Protocol):
    @property
    def consumer_id(self) -> int | None: ...


S = TypeVar("S", bound=_HasConsumer)


def direct_callee(subscriptions: Iterable[S]) -> S | None:
    """A direct call has exactly one callee: the first subscription, in id order, that
    names a consumer. Other consumers of a direct channel never receive the call
    (mirrors of the callee get their copy, as on any channel)."""
    return next((s for s in subscriptions if s.consumer_id is not None), None)
