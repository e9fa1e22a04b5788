"""Producers a template does not declare, inferred from what each principal may send.

A function (or state machine, or a role no function uses) allowed ``sqs:SendMessage`` on a
queue, ``sns:Publish`` on a topic or ``events:PutEvents`` on a bus becomes a producer into
that channel, at the default rate (one message a second). Its payloads are built so the
architecture routes at once: into a bus, one event per rule of that bus that the rule
matches, and one that no rule matches; into a topic, attributes (or bodies) matching each
filtered subscription, and one matching none. The report says what each producer was
inferred from. SAM policy templates (``SQSSendMessagePolicy`` ...) arrive here already
expanded into IAM statements by the SAM translator.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from flows.formats.report import INFERRED
from flows.formats.samples import sample_for
from flows.routing import EventPattern, FilterPolicy

# The importer's builder (flows.formats.cloudformation.importer._Builder); not imported,
# so the two modules do not import each other.
_Builder = Any

SEND_ACTIONS = {"queue": "sqs:sendmessage", "topic": "sns:publish", "bus": "events:putevents"}
GENERIC_TYPE = "Message"
UNROUTED_TYPE = "UnroutedEvent"
SCHEDULE_TYPE = "Scheduled Event"
_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", re.I)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def _type(builder: _Builder, name: str, source: str = "") -> None:
    types = builder.data["message_types"]
    if not any(t["name"] == name for t in types):
        item: dict[str, Any] = {"name": name, "kind": "event"}
        if source:
            item["source"] = source
        types.append(item)


def _envelope(source: str, detail_type: str, detail: Any, attributes: Any = None) -> dict[str, Any]:
    """The shape the simulator's producers emit (docs/contracts.md)."""
    return {
        "id": "00000000-0000-4000-8000-000000000000",
        "kind": "event",
        "source": source,
        "detail-type": detail_type,
        "time": "2026-01-01T00:00:00Z",
        "schema_version": 1,
        "attributes": attributes or {},
        "detail": detail,
    }


def scheduled(builder: _Builder, lid: str, rule: str, bus: str, expression: str) -> None:
    """A scheduled rule: a producer of 'Scheduled Event's at the schedule's rate."""
    match = _RATE.fullmatch(expression.strip())
    if match:
        unit = match.group(2).lower().rstrip("s")
        rate = 1.0 / (int(match.group(1)) * _UNIT_SECONDS[unit])
    else:
        rate = 1.0 / 60  # cron(): about once a minute is what a person watching can see
    _type(builder, SCHEDULE_TYPE, "aws.events")
    name = f"schedule {rule}"
    builder.data["producers"].append(
        {
            "name": name,
            "channel": bus,
            "rate": round(rate, 6),
            "emits": [{"type": SCHEDULE_TYPE, "payload": {"schedule": rule}}],
        }
    )
    builder.report.add(
        INFERRED,
        lid,
        "AWS::Events::Rule",
        f"producer {name!r} from ScheduleExpression {expression}",
    )


def _statements(builder: _Builder) -> dict[str, list[tuple[str, tuple[Any, ...], dict[str, Any]]]]:
    """Role logical id -> its Allow statements, each with the resource and path it came from."""
    found: dict[str, list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = {}

    def add(role: str, lid: str, path: tuple[Any, ...], document: Any) -> None:
        statements = (document or {}).get("Statement") if isinstance(document, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        for i, statement in enumerate(statements or []):
            if isinstance(statement, dict) and statement.get("Effect", "Allow") == "Allow":
                found.setdefault(role, []).append((lid, (*path, "Statement", i), statement))

    for lid in builder.active:
        kind = builder.type(lid)
        if kind == "AWS::IAM::Role":
            for i, policy in enumerate(builder.props(lid).get("Policies") or []):
                if isinstance(policy, dict):
                    add(
                        lid,
                        lid,
                        ("Properties", "Policies", i, "PolicyDocument"),
                        policy.get("PolicyDocument"),
                    )
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            props = builder.props(lid)
            for role_name in props.get("Roles") or []:
                role = builder.r.owner(role_name) or (
                    role_name if role_name in builder.resources else None
                )
                if role is not None:
                    add(role, lid, ("Properties", "PolicyDocument"), props.get("PolicyDocument"))
    return found


def _principals(builder: _Builder) -> dict[str, list[tuple[str, str]]]:
    """Role logical id -> the (logical id, name) of the functions and state machines using it."""
    users: dict[str, list[tuple[str, str]]] = {}
    for lid in builder.active:
        kind = builder.type(lid)
        role_property = {
            "AWS::Lambda::Function": "Role",
            "AWS::StepFunctions::StateMachine": "RoleArn",
        }.get(kind)
        if role_property is None:
            continue
        raw = (builder.resources[lid].get("Properties") or {}).get(role_property)
        role = builder.r.owner(builder.value(lid, ("Properties", role_property), raw))
        if role is not None:
            name_property = (
                "FunctionName" if kind == "AWS::Lambda::Function" else "StateMachineName"
            )
            users.setdefault(role, []).append((lid, builder.name(lid, name_property)))
    return users


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def infer(builder: _Builder) -> None:
    statements = _statements(builder)
    users = _principals(builder)
    pairs: dict[tuple[str, str], str] = {}  # (principal name, channel) -> from what
    channel_arns = {
        name: builder.r.identity(lid)["Arn"]
        if builder.channel_kind[name] != "topic"
        else builder.r.identity(lid)["Ref"]
        for lid, name in builder.channel_of.items()
    }
    for role, items in statements.items():
        principals = users.get(role) or [(role, builder.name(role, "RoleName"))]
        for lid, path, statement in items:
            actions = [str(a).lower() for a in _listed(statement.get("Action", []))]
            resources = builder.value(lid, (*path, "Resource"), statement.get("Resource", []))
            for kind in ("queue", "topic", "bus"):
                wanted = SEND_ACTIONS[kind]
                if not any(fnmatch.fnmatchcase(wanted, a) for a in actions):
                    continue
                for resource in _listed(resources or []):
                    if not isinstance(resource, str):
                        continue
                    if resource == "*":
                        builder.report.add(
                            INFERRED,
                            lid,
                            builder.type(lid),
                            f"no producer inferred from {wanted} on '*' (every resource): "
                            "which channel is unknown",
                        )
                        continue
                    for name, arn in channel_arns.items():
                        if builder.channel_kind[name] == kind and fnmatch.fnmatchcase(
                            arn, resource
                        ):
                            for principal_lid, principal in principals:
                                # A function that sends is a producer, not "not modelled".
                                builder.handled.add(principal_lid)
                                pairs.setdefault(
                                    (principal, name),
                                    f"{lid} {'.'.join(map(str, path))} ({wanted})",
                                )
    by_principal: dict[str, int] = {}
    for principal, _ in pairs:
        by_principal[principal] = by_principal.get(principal, 0) + 1
    for (principal, channel), why in pairs.items():
        name = principal if by_principal[principal] == 1 else f"{principal} to {channel}"
        emits = _emissions(builder, principal, channel)
        builder.data["producers"].append({"name": name, "channel": channel, "emits": emits})
        types = ", ".join(e["type"] for e in emits)
        builder.report.add(
            INFERRED,
            principal,
            "producer",
            f"producer {name!r} → {channel} emitting {types}, from {why}",
        )


def _emissions(builder: _Builder, producer: str, channel: str) -> list[dict[str, Any]]:
    kind = builder.channel_kind[channel]
    if kind == "bus":
        return _bus_emissions(builder, producer, channel)
    payload = {"id": {"$seq": {"prefix": "m-"}}}
    _type(builder, GENERIC_TYPE)
    emission: dict[str, Any] = {"type": GENERIC_TYPE, "payload": payload}
    if kind == "topic":
        attributes: list[Any] = []
        bodies: list[Any] = []
        for sub in builder.data["subscriptions"]:
            policy = sub.get("filter_policy")
            if sub["channel"] != channel or policy is None:
                continue
            scope = sub.get("filter_scope", "MessageAttributes")
            sample = sample_for(policy)
            if sample is None or not FilterPolicy(policy, scope=scope).matches(sample):
                continue
            (bodies if scope == "MessageBody" else attributes).append(sample)
        if attributes:
            emission["attributes"] = {"$choice": [*attributes, {}]}
        if bodies:
            emission["payload"] = {"$choice": [*bodies, payload]}
    return [emission]


def _bus_emissions(builder: _Builder, producer: str, bus: str) -> list[dict[str, Any]]:
    rules = [
        r
        for r in builder.data["rules"]
        if r["bus"] == bus and SCHEDULE_TYPE not in str(r["pattern"])
    ]
    variants: dict[tuple[str, str], list[Any]] = {}
    compiled = [EventPattern(r["pattern"]) for r in rules]
    for rule, pattern in zip(rules, compiled, strict=True):
        sample = sample_for(rule["pattern"]) or {}
        source = sample.get("source") if isinstance(sample.get("source"), str) else producer
        detail_type = sample.get("detail-type")
        if not isinstance(detail_type, str):
            detail_type = f"{rule['name']}Event"
        detail = sample.get("detail") if isinstance(sample.get("detail"), dict) else {}
        if not pattern.matches(_envelope(source, detail_type, detail)):
            builder.report.add(
                INFERRED,
                rule["name"],
                "rule",
                "no sample event found that it matches "
                "(it tests fields the simulator does not set)",
            )
            continue
        variants.setdefault((detail_type, source), []).append(detail)
    emits: list[dict[str, Any]] = []
    for (detail_type, source), details in variants.items():
        _type(builder, detail_type, source if source != producer else "")
        unique = [d for i, d in enumerate(details) if d not in details[:i]]
        payload = unique[0] if len(unique) == 1 else {"$choice": unique}
        emits.append({"type": detail_type, "payload": payload})
    if not any(
        p.matches(_envelope(producer, UNROUTED_TYPE, {"matches": "no rule"})) for p in compiled
    ):
        _type(builder, UNROUTED_TYPE)
        emits.append({"type": UNROUTED_TYPE, "weight": 0.2, "payload": {"matches": "no rule"}})
    if not emits:
        _type(builder, GENERIC_TYPE)
        emits.append({"type": GENERIC_TYPE, "payload": {"id": {"$seq": {"prefix": "e-"}}}})
    return emits
