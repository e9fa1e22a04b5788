"""The event bus as EventBridge routes: rules matched by event pattern, input
transformers, the archive and its replay."""

from __future__ import annotations

from typing import Any

import orjson

from flows import ids
from flows.engine.base import EngineBase
from flows.engine.batch import Tx


class BusMixin(EngineBase):
    """Event buses: each matching rule delivers to its targets."""

    def _route_bus(self, tx: Tx, msg: dict[str, Any], bus_id: int, *, depth: int) -> None:
        """An (already counted) event at a bus: archived, then copied to every matching target."""
        bus = self.config.channels[bus_id]
        if bus.archive_all or (
            bus.archive_pattern is not None and bus.archive_pattern.matches(msg)
        ):
            raw = orjson.dumps(msg)
            tx.zadd(self.k.archive(bus_id), raw, tx.now)
            self.hop(tx, msg, "archived", bus.node, bus.node, "")
            tx.node_count(bus.node, "archived")
        index = self.config.rule_index.get(bus_id)
        matched = sorted(index.matching(msg)) if index is not None else []
        targets = [t for rule_id in matched for t in self.config.targets_by_rule.get(rule_id, [])]
        if not targets:
            reason = "no rule matched" if not matched else "the matching rules have no targets"
            self.hop(
                tx,
                msg,
                "unmatched",
                bus.node,
                bus.node,
                "",
                reason=reason,
                rules=[self.config.rules[r][0] for r in matched],
            )
            tx.count("unmatched")
            tx.node_count(bus.node, "unmatched")
            return
        tx.count("copies", len(targets) - 1)
        tx.node_count(bus.node, "matched")
        for target in targets:
            to = (
                ids.consumer_node(target.consumer_id)
                if target.consumer_id is not None
                else self.config.node_of_channel(target.channel_id or 0)
            )
            body = None
            rule = {
                "rule": target.rule_name,
                "rule_id": target.rule_id,
                "rule_version": target.rule_version,
            }
            if target.transformer is not None:
                try:
                    result = target.transformer.transform(msg, rule_name=target.rule_name)
                except ValueError as exc:
                    self.hop(
                        tx,
                        msg,
                        "dead_lettered",
                        bus.node,
                        to,
                        target.edge,
                        reason=f"input transformer failed: {exc}",
                        **rule,
                    )
                    tx.count("dead_lettered")
                    continue
                body = result.value
                missing = [m.path for m in result.missing]
                self.hop(
                    tx,
                    msg,
                    "transformed",
                    bus.node,
                    to,
                    target.edge,
                    input=body,
                    missing=missing,
                    **rule,
                )
                tx.node_count(bus.node, "transformed")
            if target.channel_id is not None:
                self._arrive(
                    tx,
                    msg,
                    target.channel_id,
                    frm=bus.node,
                    edge=target.edge,
                    depth=depth + 1,
                    body=body,
                    extra={"rule": rule},
                )
            else:
                self._push(
                    tx,
                    msg,
                    target.consumer_id,
                    frm=bus.node,
                    edge=target.edge,
                    body=body,
                    max_retries=target.max_retries,
                    dlq=target.dlq_id,
                    counted=True,
                    rule=rule,
                )

    def replay(self, tx: Tx, bus_id: int, start_ms: int, end_ms: int) -> None:
        """Send the archived events of [start, end] back into their bus."""
        bus = self.config.channels[bus_id]
        for raw in self.r.zrangebyscore(self.k.archive(bus_id), start_ms, end_ms):
            msg = orjson.loads(raw)
            msg = {**msg, "replay-name": f"replay-{start_ms}-{end_ms}"}
            self.hop(tx, msg, "replayed", bus.node, bus.node, "")
            tx.node_count(bus.node, "replayed")
            tx.count("copies")
            self._route_bus(tx, msg, bus_id, depth=0)
