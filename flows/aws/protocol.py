"""The wire formats: reading a request's parameters and writing answers and errors.

Shapes come from botocore's service models (the same files the SDK serializes with), so
a parameter is read where the SDK put it and an answer is written where the SDK looks.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

from flows.aws import errors
from flows.aws.errors import AwsError

# Services by what tells them apart on the wire.
TARGET_PREFIXES = {"AWSEvents": "events", "AmazonSQS": "sqs"}
QUERY_VERSIONS = {"2010-03-31": "sns", "2012-11-05": "sqs"}
JSON_CONTENT_TYPES = {"events": "application/x-amz-json-1.1", "sqs": "application/x-amz-json-1.0"}

# SQS's model describes the JSON protocol now and no longer carries the names its query
# protocol used for flattened lists and maps; these are they.
SQS_QUERY_NAMES: dict[str, tuple[str, ...]] = {
    "Attributes": ("Attribute", "Name", "Value"),
    "AttributeNames": ("AttributeName",),
    "QueueUrls": ("QueueUrl",),
    "tags": ("Tag", "Key", "Value"),
    "Tags": ("Tag", "Key", "Value"),
    "TagKeys": ("TagKey",),
    "queueUrls": ("QueueUrl",),
}


@functools.cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, name: str) -> OperationModel | None:
    model = service_model(service)
    if name not in model.operation_names:
        return None
    return model.operation_model(name)


def request_id() -> str:
    return str(uuid.uuid4())


# --- reading ----------------------------------------------------------------------------


def parse_json_params(body: bytes, dialect: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise errors.common(
            "malformed",
            dialect,
            "Start of structure or map found where not expected, or the body is not JSON.",
        ) from None
    if not isinstance(params, dict):
        raise errors.common("malformed", dialect, "The request body must be a JSON object.")
    return params


def parse_query_params(
    form: Mapping[str, str], shape: StructureShape | None, *, sqs_names: bool = False
) -> dict[str, Any]:
    """The parameters of a query-protocol request, as the SDK's QuerySerializer wrote them."""
    if shape is None:
        return {}
    return _QueryReader(form, sqs_names).structure(shape, "")


class _QueryReader:
    def __init__(self, form: Mapping[str, str], sqs_names: bool) -> None:
        self.form = form
        self.sqs_names = sqs_names
        self.prefixes = {key.split(".", 1)[0] for key in form}
        self.keys = list(form)

    def present(self, prefix: str) -> bool:
        return prefix in self.form or any(k.startswith(prefix + ".") for k in self.keys)

    def value(self, shape: Shape, prefix: str, member_name: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, prefix)  # type: ignore[arg-type]
        if kind == "list":
            return self.list(shape, prefix, member_name)
        if kind == "map":
            return self.map(shape, prefix, member_name)
        raw = self.form.get(prefix)
        if raw is None:
            return None
        return _scalar(shape, raw, prefix)

    def structure(self, shape: StructureShape, prefix: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if self.sqs_names and name in SQS_QUERY_NAMES and member.type_name != "list":
                wire = SQS_QUERY_NAMES[name][0]
            key = f"{prefix}.{wire}" if prefix else wire
            if self.sqs_names and member.type_name == "list" and name in SQS_QUERY_NAMES:
                key = f"{prefix}.{SQS_QUERY_NAMES[name][0]}" if prefix else SQS_QUERY_NAMES[name][0]
            if self.present(key):
                result[name] = self.value(member, key, name)
        return result

    def list(self, shape: Any, prefix: str, member_name: str) -> list[Any]:
        if self.form.get(prefix) == "":
            return []
        flattened = shape.serialization.get("flattened") or (
            self.sqs_names and member_name in SQS_QUERY_NAMES
        )
        base = (
            prefix if flattened else f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        )
        items = []
        i = 1
        while self.present(f"{base}.{i}"):
            items.append(self.value(shape.member, f"{base}.{i}", ""))
            i += 1
        return items

    def map(self, shape: Any, prefix: str, member_name: str) -> dict[str, Any]:
        names = SQS_QUERY_NAMES.get(member_name, ()) if self.sqs_names else ()
        flattened = shape.serialization.get("flattened") or bool(names)
        base = prefix if flattened else f"{prefix}.entry"
        key_name = names[1] if len(names) > 2 else shape.key.serialization.get("name", "key")
        value_name = names[2] if len(names) > 2 else shape.value.serialization.get("name", "value")
        result: dict[str, Any] = {}
        i = 1
        while self.present(f"{base}.{i}"):
            key = self.form.get(f"{base}.{i}.{key_name}")
            if key is not None:
                result[key] = self.value(shape.value, f"{base}.{i}.{value_name}", "")
            i += 1
        return result


def _scalar(shape: Shape, raw: str, where: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind in ("float", "double"):
            return float(raw)
    except ValueError:
        raise _QueryValueError(where, raw) from None
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise _QueryValueError(where, raw)
        return raw.lower() == "true"
    return raw


class _QueryValueError(ValueError):
    def __init__(self, where: str, raw: str) -> None:
        super().__init__(f"Value {raw!r} for parameter {where} is invalid.")


QueryValueError = _QueryValueError


# --- validation -------------------------------------------------------------------------

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float, str),
    "blob": (str,),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
}


def validation_problems(shape: Shape | None, value: Any, path: str = "") -> list[str]:
    """What is missing or of the wrong type, in the words of AWS's validation messages."""
    if shape is None:
        return []
    kind = shape.type_name
    expected = _JSON_TYPES.get(kind, (object,))
    if not isinstance(value, expected) or (kind in ("integer", "long") and value is True):
        return [
            f"Value at '{path or 'request'}' failed to satisfy constraint: Member must be "
            f"of type {kind}"
        ]
    problems: list[str] = []
    if kind == "structure":
        for name in shape.required_members:  # type: ignore[attr-defined]
            if value.get(name) is None:
                where = f"{path}.{name}" if path else name
                problems.append(
                    f"Value null at '{_lower_first(where)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, item in value.items():
            member = shape.members.get(name)  # type: ignore[attr-defined]
            if member is not None and item is not None:
                problems += validation_problems(member, item, f"{path}.{name}" if path else name)
    elif kind == "list":
        for i, item in enumerate(value, 1):
            problems += validation_problems(shape.member, item, f"{path}.{i}.member")  # type: ignore[attr-defined]
    elif kind == "map":
        for key, item in value.items():
            problems += validation_problems(shape.value, item, f"{path}.{key}")  # type: ignore[attr-defined]
    return problems


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- writing ----------------------------------------------------------------------------


def json_answer(output: Mapping[str, Any]) -> bytes:
    return json.dumps(_prune(output), separators=(",", ":")).encode()


def json_error(error: AwsError) -> bytes:
    return json.dumps({"__type": error.code, "message": error.message}).encode()


def _prune(value: Any) -> Any:
    """Absent means absent: members left None are not sent at all."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def query_answer(op: OperationModel, output: Mapping[str, Any], rid: str) -> bytes:
    """``<OpResponse><OpResult>...</OpResult><ResponseMetadata>`` for the query protocol."""
    ns = op.service_model.metadata.get("xmlNamespace") or _SQS_NAMESPACE
    sqs = op.service_model.service_name == "sqs"
    parts = [f'<?xml version="1.0"?><{op.name}Response xmlns="{ns}">']
    shape = op.output_shape
    if shape is not None and shape.members:
        wrapper = shape.serialization.get("resultWrapper") or f"{op.name}Result"
        parts.append(f"<{wrapper}>")
        for name, member in shape.members.items():
            value = output.get(name)
            if value is not None:
                parts.append(_xml(member, value, member.serialization.get("name", name), sqs))
        parts.append(f"</{wrapper}>")
    parts.append(f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>")
    parts.append(f"</{op.name}Response>")
    return "".join(parts).encode()


_SQS_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"


def _xml(shape: Shape, value: Any, tag: str, sqs: bool) -> str:
    kind = shape.type_name
    names = SQS_QUERY_NAMES.get(tag, ()) if sqs else ()
    if kind == "structure":
        inner = "".join(
            _xml(m, value[n], m.serialization.get("name", n), sqs)
            for n, m in shape.members.items()  # type: ignore[attr-defined]
            if value.get(n) is not None
        )
        return f"<{tag}>{inner}</{tag}>"
    if kind == "list":
        member = shape.member  # type: ignore[attr-defined]
        if shape.serialization.get("flattened") or names:
            item_tag = names[0] if names else member.serialization.get("name", tag)
            return "".join(_xml(member, item, item_tag, sqs) for item in value)
        item_tag = member.serialization.get("name", "member")
        return (
            f"<{tag}>" + "".join(_xml(member, item, item_tag, sqs) for item in value) + f"</{tag}>"
        )
    if kind == "map":
        key_tag = names[1] if len(names) > 2 else shape.key.serialization.get("name", "key")  # type: ignore[attr-defined]
        value_tag = names[2] if len(names) > 2 else shape.value.serialization.get("name", "value")  # type: ignore[attr-defined]
        flattened = shape.serialization.get("flattened") or names
        entry_tag = (names[0] if names else tag) if flattened else "entry"
        entries = "".join(
            f"<{entry_tag}><{key_tag}>{escape(str(k))}</{key_tag}>"
            + _xml(shape.value, v, value_tag, sqs)  # type: ignore[attr-defined]
            + f"</{entry_tag}>"
            for k, v in value.items()
        )
        return entries if flattened else f"<{tag}>{entries}</{tag}>"
    if kind == "boolean":
        text = "true" if value else "false"
    elif kind == "timestamp":
        text = _iso(value)
    else:
        text = str(value)
    return f"<{tag}>{escape(text)}</{tag}>"


def _iso(value: Any) -> str:
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return str(value)


def query_error(error: AwsError, namespace: str, rid: str) -> bytes:
    kind = "Sender" if error.sender else "Receiver"
    return (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{namespace}"><Error><Type>{kind}</Type>'
        f"<Code>{escape(error.query_code)}</Code><Message>{escape(error.message)}</Message>"
        f"<Detail/></Error><RequestId>{rid}</RequestId></ErrorResponse>"
    ).encode()


def namespace_of(service: str) -> str:
    if service == "sns":
        return service_model("sns").metadata["xmlNamespace"]
    return _SQS_NAMESPACE
