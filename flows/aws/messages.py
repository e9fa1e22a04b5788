"""Messages on the wire and in the simulation: SQS, SNS and EventBridge shapes <-> envelopes.

A message that comes in through the API becomes an envelope (DESIGN.md) with what the
wire said kept beside it (``body``, ``message_attributes``, ``subject``, ``group``, ...),
so filter policies and patterns see it as they see simulated traffic, and an external
consumer gets back exactly what AWS would hand it: the body as sent, SNS's notification
JSON for a non-raw subscription, the EventBridge event for a rule's target, a target's
transformed input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from flows.aws.errors import AwsError
from flows.engine.config import TopologyConfig
from flows.engine.delivery import Delivery

MAX_MESSAGE_BYTES = 262_144  # 256 KiB: SQS message, SNS publish, PutEvents request
MAX_ATTRIBUTES = 10
TYPE_ATTRIBUTES = ("MessageType", "detail-type", "type")  # what names a message's type


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# --- message attributes (SQS and SNS) ------------------------------------------------------


def attributes_problem(attributes: dict[str, Any], *, sns: bool = False) -> str | None:
    """Why SQS/SNS would refuse these message attributes, or None."""
    if len(attributes) > MAX_ATTRIBUTES and not sns:
        return f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10]."
    for name, value in attributes.items():
        data_type = str(value.get("DataType") or "")
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            return (
                f"The message attribute '{name}' has an invalid message attribute type, the "
                "set of supported type prefixes is Binary, Number, and String."
            )
        if base == "Binary":
            if not value.get("BinaryValue"):
                return _empty(name, data_type)
            try:
                base64.b64decode(value["BinaryValue"], validate=True)
            except (binascii.Error, TypeError):
                return f"The message attribute '{name}' has an invalid binary value."
        elif value.get("StringValue") in (None, ""):
            return _empty(name, data_type)
        elif base == "Number":
            try:
                float(value["StringValue"])
            except ValueError:
                return f"Can't cast the value of message (user) attribute '{name}' to a number."
    return None


def _empty(name: str, data_type: str) -> str:
    return (
        f"The message attribute '{name}' must contain non-empty message attribute value "
        f"for message attribute type '{data_type}'."
    )


def attributes_size(attributes: dict[str, Any]) -> int:
    size = 0
    for name, value in attributes.items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue") or value.get("BinaryValue") or "").encode())
    return size


def attribute_values(attributes: dict[str, Any]) -> dict[str, Any]:
    """Plain values, as filter policies on MessageAttributes match them."""
    plain: dict[str, Any] = {}
    for name, value in attributes.items():
        data_type = str(value.get("DataType", ""))
        raw = value.get("StringValue")
        if data_type.startswith("Number") and raw is not None:
            number = float(raw)
            plain[name] = int(number) if number.is_integer() else number
        elif data_type == "String.Array" and raw is not None:
            try:
                plain[name] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                plain[name] = raw
        elif raw is not None:
            plain[name] = raw
    return plain


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: dict[str, Any] | None) -> str | None:
    """SQS's digest of message attributes (names sorted; lengths, type, transport, value)."""
    if not attributes:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value.get("DataType", ""))
        for part in (name.encode(), data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        if "BinaryValue" in value and value["BinaryValue"] is not None:
            raw = value["BinaryValue"]
            data = raw if isinstance(raw, bytes) else base64.b64decode(raw)
            digest.update(b"\x02" + struct.pack(">I", len(data)) + data)
        else:
            data = str(value.get("StringValue", "")).encode()
            digest.update(b"\x01" + struct.pack(">I", len(data)) + data)
    return digest.hexdigest()


def _type_of(attributes: dict[str, Any], default: str) -> str:
    for name in TYPE_ATTRIBUTES:
        value = attributes.get(name)
        if value and value.get("StringValue"):
            return str(value["StringValue"])
    return default


def _typed(attributes: dict[str, Any]) -> dict[str, Any]:
    """Only what a message attribute is (SDKs may send empty list members too)."""
    return {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in attributes.items()
    }


# --- envelopes ------------------------------------------------------------------------------


def sqs_envelope(
    body: str,
    attributes: dict[str, Any],
    *,
    sender: str,
    group: str | None,
    dedup: str | None,
    delay_ms: int,
) -> dict[str, Any]:
    detail = _json_object(body)
    return {
        "id": str(uuid.uuid4()),
        "kind": "command",
        "source": "aws.sqs",
        "detail-type": _type_of(attributes, "SQS message"),
        "time": now_iso(),
        "schema_version": 1,
        "attributes": attribute_values(attributes),
        "detail": detail if detail is not None else {"body": body},
        "body": body,
        "message_attributes": _typed(attributes),
        "sender": sender,
        "sent_at": int(datetime.now(UTC).timestamp() * 1000),
        **({"group": group} if group else {}),
        **({"dedup": dedup} if dedup else {}),
        **({"delay_ms": delay_ms} if delay_ms else {}),
    }


def sns_envelope(
    message: str,
    attributes: dict[str, Any],
    *,
    topic_arn: str,
    subject: str | None,
    group: str | None,
    dedup: str | None,
    sender: str,
) -> dict[str, Any]:
    detail = _json_object(message)
    return {
        "id": str(uuid.uuid4()),
        "kind": "event",
        "source": "aws.sns",
        "detail-type": subject or _type_of(attributes, "SNS message"),
        "time": now_iso(),
        "schema_version": 1,
        "attributes": attribute_values(attributes),
        "detail": detail if detail is not None else {"message": message},
        "body": message,
        "message_attributes": _typed(attributes),
        "topic_arn": topic_arn,
        "sender": sender,
        "sent_at": int(datetime.now(UTC).timestamp() * 1000),
        **({"subject": subject} if subject else {}),
        **({"group": group} if group else {}),
        **({"dedup": dedup} if dedup else {}),
    }


def events_envelope(
    entry: dict[str, Any], detail: dict[str, Any], *, account: str
) -> dict[str, Any]:
    time = entry.get("Time")
    if isinstance(time, int | float):
        time = datetime.fromtimestamp(time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": str(uuid.uuid4()),
        "kind": "event",
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "time": str(time or now_iso()[:-5] + "Z"),
        "schema_version": 1,
        "attributes": {},
        "detail": detail,
        "account": account,
        "resources": list(entry.get("Resources") or []),
    }


def eventbridge_event(msg: dict[str, Any], *, account: str, region: str) -> dict[str, Any]:
    """The event as EventBridge hands it to a target."""
    return {
        "version": "0",
        "id": msg["id"],
        "detail-type": msg.get("detail-type", ""),
        "source": msg.get("source", ""),
        "account": msg.get("account", account),
        "time": msg.get("time", ""),
        "region": region,
        "resources": msg.get("resources", []),
        "detail": msg.get("detail", {}),
    }


# --- what an external consumer receives -----------------------------------------------------


def _sns_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in attributes.items():
        data_type = str(value.get("DataType", "String"))
        if data_type.startswith("Binary"):
            out[name] = {"Type": "Binary", "Value": value.get("BinaryValue", "")}
        else:
            out[name] = {"Type": data_type, "Value": value.get("StringValue", "")}
    return out


def sns_notification(
    msg: dict[str, Any], topic_arn: str, endpoint: str, sub_arn: str
) -> dict[str, Any]:
    """SNS's JSON envelope, as a non-raw subscription delivers to an SQS queue."""
    note: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": msg["id"],
        "TopicArn": topic_arn,
    }
    if msg.get("subject"):
        note["Subject"] = msg["subject"]
    note["Message"] = _text_of(msg)
    note["Timestamp"] = msg.get("time") or now_iso()
    if msg.get("group"):
        note["SequenceNumber"] = "0"
    else:
        note.update(
            SignatureVersion="1",
            Signature="EXAMPLE",
            SigningCertURL=f"{endpoint}/SimpleNotificationService.pem",
            UnsubscribeURL=f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={sub_arn}",
        )
    if msg.get("message_attributes"):
        note["MessageAttributes"] = _sns_attributes(msg["message_attributes"])
    return note


def _text_of(msg: dict[str, Any]) -> str:
    if isinstance(msg.get("body"), str):
        return msg["body"]
    return orjson.dumps(msg.get("detail", {})).decode()


def received_body(
    d: Delivery, config: TopologyConfig, *, account: str, region: str, endpoint: str
) -> tuple[str, dict[str, Any]]:
    """The body and message attributes an SQS consumer gets for a delivery."""
    msg = d["msg"]
    if d.get("body") is not None:  # a rule target's Input or transformed input
        body = d["body"]
        return (body if isinstance(body, str) else orjson.dumps(body).decode()), {}
    sub = config.subscriptions.get(d["sub"]) if d.get("sub") is not None else None
    if sub is not None:
        if sub.raw:
            return _text_of(msg), dict(msg.get("message_attributes") or {})
        topic = config.channels.get(sub.channel_id)
        topic_name = topic.name if topic else "topic"
        topic_arn = msg.get("topic_arn") or f"arn:aws:sns:{region}:{account}:{topic_name}"
        if topic is not None:
            topic_arn = f"arn:aws:sns:{region}:{account}:{topic.name}"
        note = sns_notification(msg, topic_arn, endpoint, f"{topic_arn}:{sub.id}")
        return orjson.dumps(note).decode(), {}
    if msg.get("source") == "aws.sqs" and isinstance(msg.get("body"), str):
        return msg["body"], dict(msg.get("message_attributes") or {})
    if d.get("rule") is not None:
        event = eventbridge_event(msg, account=account, region=region)
        return orjson.dumps(event).decode(), {}
    if isinstance(msg.get("body"), str):
        return msg["body"], dict(msg.get("message_attributes") or {})
    # Simulated traffic: the detail as the body, its attributes as String attributes.
    attributes = {
        str(k): {
            "DataType": "Number"
            if isinstance(v, int | float) and not isinstance(v, bool)
            else "String",
            "StringValue": v if isinstance(v, str) else orjson.dumps(v).decode(),
        }
        for k, v in (msg.get("attributes") or {}).items()
    }
    return orjson.dumps(msg.get("detail", {})).decode(), attributes


def size_error(what: str = "Message") -> AwsError:
    return AwsError(
        "InvalidParameterValue",
        f"One or more parameters are invalid. Reason: {what} must be shorter than "
        f"{MAX_MESSAGE_BYTES} bytes.",
    )
