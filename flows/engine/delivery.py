"""The delivery record: one copy of a message on its way to one subscriber.

Deliveries live in the run's ``dlv`` hash (and, once dead-lettered, in a dead-letter
queue's ``parked`` list) as orjson of a plain dict, so the records are ``TypedDict``s:
the field list is written down once, here, and reading or writing one costs nothing
more than a dict.

A record has two parts. Its ``Route`` says where the copy goes and how it is handled
(body, target consumer, edge, retry budget, dead-letter queue, ...): a redrive copies
exactly these fields into a fresh delivery (``ROUTE_FIELDS``). The rest is identity and
progress (id, receive and attempt counts, busy, the queue and FIFO group it waits in),
which starts over when the copy is redriven.
"""

from __future__ import annotations

from typing import Any, TypedDict

Message = dict[str, Any]  # the envelope (docs/contracts.md)


class RuleRef(TypedDict):
    """The bus rule that routed a copy, shown in its hops."""

    rule: str
    rule_id: int
    rule_version: int


# Functional syntax: "from" is a Python keyword.
_RouteOptions = TypedDict(
    "_RouteOptions",
    {
        "consumer": int | None,  # the consumer pushed to, or receiving from a queue
        "edge": str,  # the graph edge the copy travels on
        "max_retries": int,  # push retries before dead-lettering
        "dlq": int | None,  # where a push that runs out of retries is parked
        "from": str,  # the node that pushes the copy
        "mirror": bool,  # a shadow copy (traffic mirroring)
        "rule": RuleRef,  # the bus rule that routed the copy
    },
    total=False,
)


class Route(_RouteOptions):
    """Where a copy goes and how it is handled: what a redrive carries over."""

    body: Any  # what the consumer gets; None: the message's detail


class _Identity(Route):
    """What every delivery has from the start. (Three classes, not ``Required``: the
    string annotations of ``from __future__ import annotations`` hide it from TypedDict.)
    """

    id: str  # zero-padded, so ids sort by creation
    msg: Message
    receives: int  # queue receives so far (SQS ApproximateReceiveCount)
    attempt: int  # push attempts so far
    retries: int  # push retries so far


class Delivery(_Identity, total=False):
    queue: int | None  # the queue the copy waits in
    group: str  # its FIFO message group
    busy: bool  # a consumer is processing it
    started: int  # when processing started (ms)


ROUTE_FIELDS: tuple[str, ...] = tuple(Route.__annotations__)
DELIVERY_FIELDS: tuple[str, ...] = tuple(Delivery.__annotations__)


def rule_of(d: Delivery) -> dict[str, Any]:
    """The rule (name, id, version) that routed a delivery, for its hops' detail."""
    return dict(d["rule"]) if d.get("rule") else {}
