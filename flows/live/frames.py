"""Every frame the server sends to a dashboard: one typed builder and one JSON Schema each.

Zulip's pattern: a frame is never written as a dict literal elsewhere; services, selectors
and the websocket consumer call these builders, and the test suite checks every frame it
sees go out (``sender.encode``, the one chokepoint) against ``SCHEMAS[frame["type"]]``.
Changing a frame's shape means changing its TypedDict, its schema and its README line.

Frame types (server -> client): snapshot, hops, counters, graph, run, trace, ack, error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import jsonschema
import orjson

from flows.models import ChannelKind, HopStage, MessageKind, RunStatus

if TYPE_CHECKING:
    from flows.models import Hop as HopRow
    from flows.models import Run

# --- typed definitions ------------------------------------------------------------------

# The hop event of docs/contracts.md, exactly (``from`` is a keyword, hence the functional form).
Hop = TypedDict(
    "Hop",
    {
        "seq": int,
        "run": int,
        "msg": str,
        "type": str,
        "kind": str,
        "stage": str,
        "from": str,
        "to": str,
        "edge": str,
        "attempt": int,
        "at": int,
    },
)
HOP_FIELDS: tuple[str, ...] = tuple(Hop.__annotations__)

# A hop of a trace answer: the hop event and what it carried (payload, rule, reason...).
TracedHop = TypedDict(
    "TracedHop",
    {
        "seq": int,
        "run": int,
        "msg": str,
        "type": str,
        "kind": str,
        "stage": str,
        "from": str,
        "to": str,
        "edge": str,
        "attempt": int,
        "at": int,
        "detail": dict[str, Any],
    },
)


class RunInfo(TypedDict):
    id: int
    status: str
    seed: int


class ScriptProgress(TypedDict):
    started: int | None
    done: list[int]


class Counters(TypedDict):
    """What ``engine.counters`` returns (live, or stored on the run when it stopped)."""

    run: int
    seq: int
    totals: dict[str, int]
    nodes: dict[str, dict[str, int]]
    script: ScriptProgress


class SnapshotFrame(TypedDict):
    type: Literal["snapshot"]
    graph: dict[str, Any]
    counters: Counters | None
    run: RunInfo | None
    last_seq: int
    staff: bool


class Sample(TypedDict):
    """What a sampled live hops frame covers and what it left out (see ``sample_every``).

    The frame covers every seq from ``first_seq`` to ``last_seq``: a hop of that range
    that is not in the frame was sampled out, not lost (a client does not resume it).
    ``hops``, ``stages`` and ``edges`` count every hop of the range, sent or not.
    """

    every: int
    first_seq: int
    last_seq: int
    hops: int
    stages: dict[str, int]
    edges: dict[str, int]


class HopsFrame(TypedDict):
    type: Literal["hops"]
    run: int
    hops: list[Hop]
    # Only on answers to ``resume``: ``more`` says whether another frame of the same
    # answer follows (the client stops waiting for the answer when it is false).
    resumed: NotRequired[bool]
    more: NotRequired[bool]
    # Only on live frames sent while the run is above the dashboards' hop budget.
    sampled: NotRequired[Sample]


class CountersFrame(Counters):
    type: Literal["counters"]


class GraphFrame(TypedDict):
    type: Literal["graph"]
    graph: dict[str, Any]


class RunFrame(TypedDict):
    type: Literal["run"]
    run: RunInfo


class TraceFrame(TypedDict):
    type: Literal["trace"]
    msg: str
    run: int | None
    hops: list[TracedHop]


class AckFrame(TypedDict):
    type: Literal["ack"]
    of: str
    # The one thing the control frame acted on or made: exactly one of these.
    run: NotRequired[int]
    producer: NotRequired[int]
    consumer: NotRequired[int]
    channel: NotRequired[int]
    msg: NotRequired[str]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    error: str
    of: NotRequired[str]  # the refused frame's type, when it had one
    retry_ms: NotRequired[int]  # a rate-limited request: when it may be asked again


Frame = (
    SnapshotFrame
    | HopsFrame
    | CountersFrame
    | GraphFrame
    | RunFrame
    | TraceFrame
    | AckFrame
    | ErrorFrame
)

# Client -> server frames that need staff; each is acknowledged with an ``ack``.
CONTROL_FRAMES: tuple[str, ...] = (
    "run.start",
    "run.stop",
    "producer.pause",
    "producer.resume",
    "consumer.offline",
    "consumer.online",
    "publish",
    "redrive",
)

# --- builders -----------------------------------------------------------------------------


def hop_payload(hop: Mapping[str, Any]) -> Hop:
    """The hop event of docs/contracts.md from an engine hop (its ``detail`` left out)."""
    return {name: hop[name] for name in HOP_FIELDS}  # type: ignore[return-value]


def hop_from_row(row: HopRow) -> Hop:
    """The same payload from a persisted ``Hop`` row."""
    return {
        "seq": row.seq,
        "run": row.run_id,
        "msg": str(row.msg),
        "type": row.type,
        "kind": row.kind,
        "stage": row.stage,
        "from": row.from_node,
        "to": row.to_node,
        "edge": row.edge,
        "attempt": row.attempt,
        "at": row.at,
    }


def traced_hop(row: HopRow) -> TracedHop:
    """A persisted hop with its detail, as a trace shows it."""
    return {**hop_from_row(row), "detail": row.detail}  # type: ignore[typeddict-item]


def run_info(run: Run | None) -> RunInfo | None:
    if run is None:
        return None
    return {"id": run.pk, "status": run.status, "seed": run.seed}


def snapshot_frame(
    *,
    graph: dict[str, Any],
    counters: Counters | None,
    run: Run | None,
    staff: bool,
) -> SnapshotFrame:
    """What a dashboard gets on connect: the diagram, the latest run and its counters."""
    return {
        "type": "snapshot",
        "graph": graph,
        "counters": counters,
        "run": run_info(run),
        "last_seq": run.last_seq if run is not None else 0,
        "staff": staff,
    }


def hops_frame(run_id: int, hops: Iterable[Hop]) -> HopsFrame:
    """A live batch of hops (one per engine tick; see ``live_hops_frames`` for the limits)."""
    return {"type": "hops", "run": run_id, "hops": list(hops)}


def resumed_hops_frame(run_id: int, hops: Iterable[Hop], *, more: bool) -> HopsFrame:
    """One frame of the answer to ``resume``; ``more`` is false on the answer's last frame."""
    return {"type": "hops", "run": run_id, "hops": list(hops), "resumed": True, "more": more}


def _encoded_size(value: Any) -> int:
    return len(orjson.dumps(value))


def _split(
    hops: Sequence[Hop], *, base: int, max_bytes: int, max_hops: int | None = None
) -> list[list[Hop]]:
    """Consecutive groups of ``hops``, each fitting a frame of ``base`` bytes plus its hops."""
    groups: list[list[Hop]] = []
    current: list[Hop] = []
    size = base
    for hop in hops:
        more = _encoded_size(hop) + 1  # and its comma
        if current and (size + more > max_bytes or (max_hops and len(current) >= max_hops)):
            groups.append(current)
            current, size = [], base
        current.append(hop)
        size += more
    groups.append(current)
    return groups


def resumed_hops_frames(
    run_id: int, hops: Sequence[Hop], *, max_hops: int, max_bytes: int
) -> list[HopsFrame]:
    """The whole answer to ``resume``: at least one frame, each within ``max_bytes``."""
    base = _encoded_size(resumed_hops_frame(run_id, [], more=False))
    groups = _split(hops, base=base, max_bytes=max_bytes, max_hops=max_hops)
    return [
        resumed_hops_frame(run_id, group, more=i < len(groups) - 1)
        for i, group in enumerate(groups)
    ]


# --- sampling: what a dashboard is sent above its hop budget ------------------------------

# Never sampled out: a message's first hop, and every hop that ends or loses a copy.
UNSAMPLED_STAGES = frozenset({"published", "failed", "dead_lettered", "unmatched"})


def sample_kept(hop: Hop, every: int) -> bool:
    """The rule a client is told (``every`` in the frame): whole messages are kept or not.

    A hop is kept when its stage is one of UNSAMPLED_STAGES, or when its message id's last
    eight hex digits, read as a number, divide by ``every`` (a power of two). An id that
    does not end in eight hex digits is always kept.
    """
    if every <= 1 or hop["stage"] in UNSAMPLED_STAGES:
        return True
    try:
        return int(hop["msg"][-8:], 16) % every == 0
    except ValueError:
        return True


def sample_every(hops: Sequence[Hop], budget: int) -> int:
    """1 when ``hops`` fit ``budget``; else the power of two that brings them near it.

    The hops that are never sampled out count against the budget first; the rest share
    what is left (at least a quarter of it, so tokens keep moving however many fail).
    """
    if len(hops) <= budget:
        return 1
    fixed = sum(1 for hop in hops if hop["stage"] in UNSAMPLED_STAGES)
    room = max(budget - fixed, budget // 4, 1)
    every = 1
    while (len(hops) - fixed) / every > room:
        every *= 2
    return every


def _counts(hops: Iterable[Hop]) -> tuple[dict[str, int], dict[str, int]]:
    stages: dict[str, int] = {}
    edges: dict[str, int] = {}
    for hop in hops:
        stages[hop["stage"]] = stages.get(hop["stage"], 0) + 1
        if hop["edge"]:
            edges[hop["edge"]] = edges.get(hop["edge"], 0) + 1
    return stages, edges


def live_hops_frames(
    run_id: int, hops: Sequence[Hop], *, max_bytes: int, budget: int
) -> list[HopsFrame]:
    """One tick's hops (in seq order) as the frames every dashboard is sent.

    Each frame is at most ``max_bytes`` encoded, and the frames follow each other in seq
    order. Above ``budget`` hops, only a sample goes out (``sample_kept``) and every frame
    says which seqs it covers and counts all of them, so the client neither resumes the
    hops left out nor loses count of them.
    """
    if not hops:
        return []
    every = sample_every(hops, budget)
    if every == 1:
        base = _encoded_size(hops_frame(run_id, []))
        return [hops_frame(run_id, group) for group in _split(hops, base=base, max_bytes=max_bytes)]
    # An upper bound of a frame's size without its hops: it counts the whole tick, and
    # says the tick's largest seq twice.
    top = hops[-1]["seq"]
    base = _encoded_size(_sampled_frame(run_id, [], every, hops, seqs=(top, top)))
    made: list[HopsFrame] = []
    covered: list[Hop] = []  # the hops of the frame being built, kept or not
    kept: list[Hop] = []
    size = base
    for hop in hops:
        more = _encoded_size(hop) + 1 if sample_kept(hop, every) else 0
        if kept and size + more > max_bytes:
            made.append(_sampled_frame(run_id, kept, every, covered))
            covered, kept, size = [], [], base
        covered.append(hop)
        if more:
            kept.append(hop)
            size += more
    made.append(_sampled_frame(run_id, kept, every, covered))
    return made


def _sampled_frame(
    run_id: int,
    kept: list[Hop],
    every: int,
    covered: Sequence[Hop],
    *,
    seqs: tuple[int, int] | None = None,
) -> HopsFrame:
    stages, edges = _counts(covered)
    first, last = seqs or (covered[0]["seq"], covered[-1]["seq"])
    return {
        "type": "hops",
        "run": run_id,
        "hops": kept,
        "sampled": {
            "every": every,
            "first_seq": first,
            "last_seq": last,
            "hops": len(covered),
            "stages": stages,
            "edges": edges,
        },
    }


def counters_frame(counters: Counters) -> CountersFrame:
    return {"type": "counters", **counters}  # type: ignore[typeddict-item]


def graph_frame(graph: dict[str, Any]) -> GraphFrame:
    """The topology changed (a rule edited in admin, a consumer taken offline...)."""
    return {"type": "graph", "graph": graph}


def run_frame(run: Run) -> RunFrame:
    """A run started or stopped."""
    info = run_info(run)
    assert info is not None
    return {"type": "run", "run": info}


def trace_frame(msg: str, run_id: int | None, hops: list[TracedHop]) -> TraceFrame:
    return {"type": "trace", "msg": msg, "run": run_id, "hops": hops}


def ack_frame(of: str, **acted_on: int | str) -> AckFrame:
    """A control frame was carried out; ``acted_on`` names what it acted on or made."""
    return {"type": "ack", "of": of, **acted_on}  # type: ignore[typeddict-item]


def error_frame(message: str, *, of: str | None = None, retry_ms: int | None = None) -> ErrorFrame:
    """An error; ``of`` names the refused frame's type when it had one, ``retry_ms`` when a
    rate-limited request may be asked again."""
    frame: ErrorFrame = {"type": "error", "error": message}
    if of is not None:
        frame["of"] = of
    if retry_ms is not None:
        frame["retry_ms"] = retry_ms
    return frame


# --- schemas ------------------------------------------------------------------------------

_INT = {"type": "integer"}
_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_INT_MAP = {"type": "object", "additionalProperties": _INT}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """A closed object: these properties and no others."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def _frame(
    type_: str, required: dict[str, Any], optional: dict[str, Any] | None = None
) -> dict[str, Any]:
    return _object({"type": {"const": type_}, **required}, optional)


_HOP_PROPERTIES = {
    "seq": {"type": "integer", "minimum": 1},
    "run": _INT,
    "msg": _STR,
    "type": _STR,
    "kind": {"enum": list(MessageKind.values)},
    "stage": {"enum": list(HopStage.values)},
    "from": _STR,
    "to": _STR,
    "edge": _STR,
    "attempt": {"type": "integer", "minimum": 1},
    "at": _INT,
}
HOP_SCHEMA = _object(_HOP_PROPERTIES)
TRACED_HOP_SCHEMA = _object({**_HOP_PROPERTIES, "detail": {"type": "object"}})

_POSITIVE = {"type": "integer", "minimum": 1}
SAMPLE_SCHEMA = _object(
    {
        "every": {"type": "integer", "minimum": 2},
        "first_seq": _POSITIVE,
        "last_seq": _POSITIVE,
        "hops": _POSITIVE,
        "stages": {
            "type": "object",
            "propertyNames": {"enum": list(HopStage.values)},
            "additionalProperties": _POSITIVE,
        },
        "edges": {"type": "object", "additionalProperties": _POSITIVE},
    }
)

RUN_INFO_SCHEMA = _object({"id": _INT, "status": {"enum": list(RunStatus.values)}, "seed": _INT})

_COUNTERS_PROPERTIES = {
    "run": _INT,
    "seq": _INT,
    "totals": _INT_MAP,
    "nodes": {"type": "object", "additionalProperties": _INT_MAP},
    "script": _object(
        {
            "started": {"type": ["integer", "null"]},
            "done": {"type": "array", "items": _INT},
        }
    ),
}
COUNTERS_SCHEMA = _object(_COUNTERS_PROPERTIES)

NODE_SCHEMA = _object(
    {
        "id": _STR,
        "kind": {"enum": [*ChannelKind.values, "producer", "consumer"]},
        "label": _STR,
    },
    {"fifo": _BOOL, "paused": _BOOL, "service": _STR, "online": _BOOL},
)
EDGE_SCHEMA = _object(
    {
        "id": _STR,
        "source": _STR,
        "target": _STR,
        "kind": {"enum": ["publish", "subscription", "mirror", "rule", "dead_letter"]},
        "label": _STR,
    },
    {
        "filter_policy": {"type": ["object", "null"]},
        "rule": _INT,
        "enabled": _BOOL,
        "pattern": {"type": "object"},
        "transformed": _BOOL,
    },
)
GRAPH_SCHEMA = _object(
    {
        "slug": _STR,
        "name": _STR,
        "description": _STR,
        "script": {"type": "array", "items": {"type": "object"}},
        "nodes": {"type": "array", "items": NODE_SCHEMA},
        "edges": {"type": "array", "items": EDGE_SCHEMA},
    }
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "snapshot": _frame(
        "snapshot",
        {
            "graph": GRAPH_SCHEMA,
            "counters": {"oneOf": [COUNTERS_SCHEMA, {"type": "null"}]},
            "run": {"oneOf": [RUN_INFO_SCHEMA, {"type": "null"}]},
            "last_seq": {"type": "integer", "minimum": 0},
            "staff": _BOOL,
        },
    ),
    "hops": {
        **_frame(
            "hops",
            {"run": _INT, "hops": {"type": "array", "items": HOP_SCHEMA}},
            {"resumed": {"const": True}, "more": _BOOL, "sampled": SAMPLE_SCHEMA},
        ),
        # A resumed batch always says whether more of its answer follows; a live one never.
        # A resumed batch is never sampled: it is the database's complete record.
        "dependentRequired": {"resumed": ["more"], "more": ["resumed"]},
        "dependentSchemas": {"sampled": {"not": {"required": ["resumed"]}}},
    },
    "counters": _frame("counters", _COUNTERS_PROPERTIES),
    "graph": _frame("graph", {"graph": GRAPH_SCHEMA}),
    "run": _frame("run", {"run": RUN_INFO_SCHEMA}),
    "trace": _frame(
        "trace",
        {
            "msg": _STR,
            "run": {"type": ["integer", "null"]},
            "hops": {"type": "array", "items": TRACED_HOP_SCHEMA},
        },
    ),
    "ack": {
        **_frame(
            "ack",
            {"of": {"enum": list(CONTROL_FRAMES)}},
            {"run": _INT, "producer": _INT, "consumer": _INT, "channel": _INT, "msg": _STR},
        ),
        # Exactly one reference besides ``type`` and ``of``.
        "minProperties": 3,
        "maxProperties": 3,
    },
    "error": _frame(
        "error",
        {"error": {"type": "string", "minLength": 1}},
        {"of": _STR, "retry_ms": {"type": "integer", "minimum": 1}},
    ),
}

# The TypedDict each schema describes (a test keeps their keys in step).
TYPED: dict[str, type] = {
    "snapshot": SnapshotFrame,
    "hops": HopsFrame,
    "counters": CountersFrame,
    "graph": GraphFrame,
    "run": RunFrame,
    "trace": TraceFrame,
    "ack": AckFrame,
    "error": ErrorFrame,
}

_VALIDATORS = {
    name: jsonschema.Draft202012Validator(schema, format_checker=None)
    for name, schema in SCHEMAS.items()
}


class FrameSchemaError(ValueError):
    """A frame that does not match its type's schema."""


def validate(frame: Mapping[str, Any]) -> None:
    """Raise ``FrameSchemaError`` unless ``frame`` matches the schema of its type."""
    kind = frame.get("type") if isinstance(frame, Mapping) else None
    validator = _VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:
        raise FrameSchemaError(f"not a server frame type: {kind!r} (types: {', '.join(SCHEMAS)})")
    error = jsonschema.exceptions.best_match(validator.iter_errors(frame))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(the frame)"
        raise FrameSchemaError(f"{kind} frame at {where}: {error.message}")
