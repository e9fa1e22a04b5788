"""Plain-data builders for the pure coupling tests: a small ``Model`` in a few lines."""

from __future__ import annotations

from flows.coupling import ChannelInfo, ConsumerInfo, Emitted, Link, Model, ProducerInfo, TypeInfo

ORDER_V1 = TypeInfo("OrderPlaced", 1, required=("order_id", "total"))
ORDER_V2 = TypeInfo("OrderPlaced", 2, required=("order_id", "amount"))
PING = TypeInfo("Ping", 1)


def model(
    channels: list[tuple[int, str, str]],
    consumers: list[ConsumerInfo],
    producers: list[ProducerInfo],
    links: list[Link],
) -> Model:
    by_channel: dict[int, list[Link]] = {}
    for link in links:
        by_channel.setdefault(link.channel_id, []).append(link)
    return Model(
        slug="t",
        channels={i: ChannelInfo(i, name, kind) for i, name, kind in channels},
        consumers={c.id: c for c in consumers},
        producers=tuple(producers),
        links={k: tuple(v) for k, v in by_channel.items()},
    )


def producer(channel_id: int, *types: TypeInfo, name: str = "shop") -> ProducerInfo:
    return ProducerInfo(1, name, channel_id, tuple(Emitted(t) for t in types))


def bus_to(consumer: ConsumerInfo, link: Link, *types: TypeInfo) -> Model:
    return model([(1, "bus", "bus")], [consumer], [producer(1, *types)], [link])
