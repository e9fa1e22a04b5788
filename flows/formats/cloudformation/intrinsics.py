"""Resolving CloudFormation's intrinsic functions, enough to connect resources (no Django).

Every resource gets a synthetic but consistent identity (its name, ARN, URL) in a fixed
account and region, so ``!GetAtt Queue.Arn`` in one place and
``!Sub arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Queue.QueueName}`` in
another resolve to the same string, and ``Resolver.owner`` maps that string back to the
logical id. What cannot be resolved (``Fn::ImportValue``, a reference to nothing, a
parameter without a value) raises ``Unresolved`` naming why; callers report it with the
logical id and property path.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"


class Unresolved(Exception):
    """A value that cannot be worked out from the template (and parameters) alone."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _arn(service: str, resource: str, *, region: str = REGION) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"


# type -> (name property, how the name becomes attributes; Ref is attributes["Ref"])
def _queue(name: str) -> dict[str, str]:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": _arn("sqs", name)}


def _topic(name: str) -> dict[str, str]:
    arn = _arn("sns", name)
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}


def _bus(name: str) -> dict[str, str]:
    return {"Ref": name, "Name": name, "Arn": _arn("events", f"event-bus/{name}")}


def _rule(name: str) -> dict[str, str]:
    return {"Ref": name, "Arn": _arn("events", f"rule/{name}")}


def _function(name: str) -> dict[str, str]:
    return {"Ref": name, "Arn": _arn("lambda", f"function:{name}")}


def _state_machine(name: str) -> dict[str, str]:
    arn = _arn("states", f"stateMachine:{name}")
    return {"Ref": arn, "Arn": arn, "Name": name}


def _api_destination(name: str) -> dict[str, str]:
    return {"Ref": name, "Arn": _arn("events", f"api-destination/{name}")}


def _role(name: str) -> dict[str, str]:
    return {"Ref": name, "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}", "RoleId": name}


def _pipe(name: str) -> dict[str, str]:
    return {"Ref": name, "Arn": _arn("pipes", f"pipe/{name}")}


IDENTITIES: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "AWS::SQS::Queue": ("QueueName", _queue),
    "AWS::SNS::Topic": ("TopicName", _topic),
    "AWS::Events::EventBus": ("Name", _bus),
    "AWS::Events::Rule": ("Name", _rule),
    "AWS::Lambda::Function": ("FunctionName", _function),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", _state_machine),
    "AWS::Events::ApiDestination": ("Name", _api_destination),
    "AWS::IAM::Role": ("RoleName", _role),
    "AWS::Pipes::Pipe": ("Name", _pipe),
}


class Resolver:
    """Intrinsic functions over one template, with parameter values given or defaulted."""

    def __init__(
        self, template: dict[str, Any], params: dict[str, str] | None = None, *, stack: str
    ) -> None:
        self.template = template
        self.resources: dict[str, Any] = template.get("Resources") or {}
        self.mappings: dict[str, Any] = template.get("Mappings") or {}
        self.condition_defs: dict[str, Any] = template.get("Conditions") or {}
        self.pseudo: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": stack,
            "AWS::StackId": _arn("cloudformation", f"stack/{stack}/0"),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self.parameters: dict[str, Any] = {}
        self.missing_parameters: set[str] = set()
        given = dict(params or {})
        for name, spec in (template.get("Parameters") or {}).items():
            spec = spec if isinstance(spec, dict) else {}
            if name in given:
                value: Any = given.pop(name)
            elif "Default" in spec:
                value = spec["Default"]
            else:
                self.missing_parameters.add(name)
                continue
            kind = str(spec.get("Type", "String"))
            if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(
                value, str
            ):
                value = [part.strip() for part in value.split(",")]
            elif isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            self.parameters[name] = value
        self.unknown_parameters = sorted(given)
        self._conditions: dict[str, bool] = {}
        self._identities: dict[str, dict[str, str]] = {}
        self._resolving: set[str] = set()
        self._owners: dict[str, str] | None = None

    # identities -------------------------------------------------------------------------

    def physical_name(self, logical_id: str) -> str:
        """The resource's name: its name property when that resolves, else its logical id."""
        resource = self.resources.get(logical_id) or {}
        spec = IDENTITIES.get(str(resource.get("Type")))
        name = logical_id
        if spec is not None:
            raw = (resource.get("Properties") or {}).get(spec[0])
            if raw is not None and logical_id not in self._resolving:
                self._resolving.add(logical_id)
                try:
                    value = self.resolve(raw)
                    if isinstance(value, str) and value:
                        name = value
                except Unresolved:
                    pass
                finally:
                    self._resolving.discard(logical_id)
        fifo = (resource.get("Properties") or {}).get("FifoQueue")
        if (
            resource.get("Type") == "AWS::SQS::Queue"
            and name == logical_id
            and _truthy(self._safe(fifo))
        ):
            name += ".fifo"
        return name

    def identity(self, logical_id: str) -> dict[str, str]:
        if logical_id not in self._identities:
            resource = self.resources.get(logical_id)
            if not isinstance(resource, dict):
                raise Unresolved(f"{logical_id!r} is not a resource or parameter of this template")
            spec = IDENTITIES.get(str(resource.get("Type")))
            name = self.physical_name(logical_id)
            if spec is None:
                self._identities[logical_id] = {
                    "Ref": logical_id,
                    "Arn": f"arn:{PARTITION}:unknown:{REGION}:{ACCOUNT}:{logical_id}",
                }
            else:
                self._identities[logical_id] = spec[1](name)
        return self._identities[logical_id]

    def owner(self, value: Any) -> str | None:
        """The logical id whose name, ARN or URL ``value`` is (None: not of this template)."""
        if not isinstance(value, str):
            return None
        if self._owners is None:
            self._owners = {}
            for logical_id, resource in self.resources.items():
                if isinstance(resource, dict) and resource.get("Type") in IDENTITIES:
                    for attr, text in self.identity(logical_id).items():
                        if attr != "Ref" or text.startswith(("arn:", "https:")):
                            self._owners.setdefault(text, logical_id)
                    self._owners.setdefault(self.identity(logical_id)["Ref"], logical_id)
        return self._owners.get(value)

    # conditions -------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        if name not in self.condition_defs:
            raise Unresolved(f"no condition named {name!r}")
        self._conditions[name] = False  # a condition that refers to itself is false
        value = self._condition_value(self.condition_defs[name])
        self._conditions[name] = value
        return value

    def _condition_value(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, args),) = node.items()
            if fn == "Condition":
                return self.condition(str(args))
            if fn == "Fn::Equals":
                left, right = (self.resolve(a) for a in args)
                return _scalar_text(left) == _scalar_text(right)
            if fn == "Fn::Not":
                return not self._condition_value(args[0])
            if fn == "Fn::And":
                return all(self._condition_value(a) for a in args)
            if fn == "Fn::Or":
                return any(self._condition_value(a) for a in args)
        value = self.resolve(node)
        if isinstance(value, bool):
            return value
        raise Unresolved(f"not a condition: {node!r}")

    # values -----------------------------------------------------------------------------

    def _safe(self, value: Any) -> Any:
        try:
            return self.resolve(value)
        except Unresolved:
            return None

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function worked out (``NO_VALUE`` entries dropped)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, args),) = value.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, args)
        out = {}
        for key, item in value.items():
            resolved = self.resolve(item)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def ref(self, name: Any) -> Any:
        name = str(self.resolve(name))
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.missing_parameters:
            raise Unresolved(f"parameter {name!r} has no default and no value (give --param)")
        return self.identity(name)["Ref"]

    def get_att(self, args: Any) -> Any:
        if isinstance(args, str):
            args = args.split(".", 1)
        if not isinstance(args, list) or len(args) != 2:
            raise Unresolved(f"Fn::GetAtt takes [resource, attribute], not {args!r}")
        logical_id, attribute = str(args[0]), str(self.resolve(args[1]))
        attributes = self.identity(logical_id)
        if attribute in attributes:
            return attributes[attribute]
        return f"{attributes['Arn']}/{attribute}"

    def sub(self, args: Any) -> str:
        if isinstance(args, list):
            if len(args) != 2 or not isinstance(args[1], dict):
                raise Unresolved("Fn::Sub takes a string, or [string, {variables}]")
            text, variables = args[0], {k: self.resolve(v) for k, v in args[1].items()}
        else:
            text, variables = args, {}
        if not isinstance(text, str):
            raise Unresolved("Fn::Sub's template must be a string")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return _scalar_text(variables[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return _scalar_text(self.get_att(name))
            return _scalar_text(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise Unresolved(f"a list or object where a string is needed: {value!r}")


def _join(r: Resolver, args: Any) -> str:
    if not isinstance(args, list) or len(args) != 2:
        raise Unresolved("Fn::Join takes [delimiter, [values]]")
    items = r.resolve(args[1])
    if not isinstance(items, list):
        raise Unresolved("Fn::Join's values must be a list")
    return str(r.resolve(args[0])).join(_scalar_text(i) for i in items)


def _select(r: Resolver, args: Any) -> Any:
    if not isinstance(args, list) or len(args) != 2:
        raise Unresolved("Fn::Select takes [index, [values]]")
    index, items = int(str(r.resolve(args[0]))), r.resolve(args[1])
    if not isinstance(items, list) or not 0 <= index < len(items):
        raise Unresolved(f"Fn::Select: index {index} out of range")
    return items[index]


def _split(r: Resolver, args: Any) -> list[str]:
    if not isinstance(args, list) or len(args) != 2:
        raise Unresolved("Fn::Split takes [delimiter, string]")
    return _scalar_text(r.resolve(args[1])).split(str(r.resolve(args[0])))


def _find_in_map(r: Resolver, args: Any) -> Any:
    if not isinstance(args, list) or len(args) < 3:
        raise Unresolved("Fn::FindInMap takes [map, top key, second key]")
    name, top, second = (_scalar_text(r.resolve(a)) for a in args[:3])
    try:
        return r.resolve(r.mappings[name][top][second])
    except (KeyError, TypeError):
        if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
            return r.resolve(args[3]["DefaultValue"])
        raise Unresolved(f"Fn::FindInMap: no {name}.{top}.{second} in Mappings") from None


def _if(r: Resolver, args: Any) -> Any:
    if not isinstance(args, list) or len(args) != 3:
        raise Unresolved("Fn::If takes [condition, value if true, value if false]")
    return r.resolve(args[1] if r.condition(str(args[0])) else args[2])


def _import_value(r: Resolver, args: Any) -> Any:
    name = r._safe(args)
    raise Unresolved(f"Fn::ImportValue {name!r} is exported by another stack")


def _get_azs(r: Resolver, args: Any) -> list[str]:
    region = r.resolve(args) or REGION
    return [f"{region}{zone}" for zone in "abc"]


def _base64(r: Resolver, args: Any) -> str:
    return base64.b64encode(_scalar_text(r.resolve(args)).encode()).decode()


def _cidr(r: Resolver, args: Any) -> list[str]:
    block, count, bits = (r.resolve(a) for a in args)
    network = ipaddress.ip_network(str(block), strict=False)
    prefix = network.max_prefixlen - int(bits)
    subnets = network.subnets(new_prefix=prefix)
    return [str(next(subnets)) for _ in range(int(count))]


def _to_json_string(r: Resolver, args: Any) -> str:
    return json.dumps(r.resolve(args), separators=(",", ":"))


def _length(r: Resolver, args: Any) -> int:
    value = r.resolve(args)
    if not isinstance(value, list):
        raise Unresolved("Fn::Length takes a list")
    return len(value)


def _condition_fn(name: str) -> Callable[[Resolver, Any], bool]:
    def handler(r: Resolver, args: Any) -> bool:
        return r._condition_value({name: args})

    return handler


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver.ref,
    "Fn::GetAtt": Resolver.get_att,
    "Fn::Sub": Resolver.sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::If": _if,
    "Fn::ImportValue": _import_value,
    "Fn::GetAZs": _get_azs,
    "Fn::Base64": _base64,
    "Fn::Cidr": _cidr,
    "Fn::ToJsonString": _to_json_string,
    "Fn::Length": _length,
    "Fn::Equals": _condition_fn("Fn::Equals"),
    "Fn::Not": _condition_fn("Fn::Not"),
    "Fn::And": _condition_fn("Fn::And"),
    "Fn::Or": _condition_fn("Fn::Or"),
    "Condition": lambda r, args: r.condition(str(args)),
}
