"""SQS control plane: queues as the topology's ``queue`` channels.

Messages (SendMessage, ReceiveMessage, DeleteMessage, ...) are not served here yet; they
plug in as more ``@operation("sqs", ...)`` handlers calling the engine's services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from flows import resources, selectors
from flows.aws import arns
from flows.aws.dispatch import Call, operation
from flows.aws.errors import AwsError
from flows.aws.paging import page
from flows.models import ChannelKind, MessageChannel

FIFO_SUFFIX = ".fifo"


def no_queue() -> AwsError:
    return AwsError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        query_code="AWS.SimpleQueueService.NonExistentQueue",
    )


def invalid_value(message: str) -> AwsError:
    return AwsError("InvalidAttributeValue", message)


def unknown_attribute(name: str) -> AwsError:
    return AwsError("InvalidAttributeName", f"Unknown Attribute {name}.")


def queue_from_url(call: Call, url: str) -> MessageChannel:
    name = arns.queue_name_from_url(url)
    queue = (
        MessageChannel.objects.select_related("dead_letter_queue")
        .filter(topology=call.topology, kind=ChannelKind.QUEUE, name=name)
        .first()
        if name
        else None
    )
    if queue is None:
        raise no_queue()
    return queue


# --- attributes: name -> (model fields it sets, how it is read back) -----------------------


@dataclass(frozen=True)
class _Int:
    field: str
    low: int
    high: int

    def parse(self, name: str, raw: str) -> dict[str, Any]:
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not self.low <= value <= self.high:
            raise invalid_value(
                f"Invalid value for the parameter {name}. Reason: must be an integer from "
                f"{self.low} to {self.high}."
            )
        return {self.field: value}

    def show(self, queue: MessageChannel) -> str:
        return f"{getattr(queue, self.field):g}"


INT_ATTRIBUTES = {
    "VisibilityTimeout": _Int("visibility_timeout", 0, 43200),
    "DelaySeconds": _Int("delay_seconds", 0, 900),
    "ReceiveMessageWaitTimeSeconds": _Int("receive_wait_seconds", 0, 20),
    "MessageRetentionPeriod": _Int("message_retention_seconds", 60, 1209600),
    "MaximumMessageSize": _Int("maximum_message_size", 1024, 1048576),
}
# Accepted (SDKs and IaC tools send them) but not simulated, so not stored either.
IGNORED_ATTRIBUTES = {
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedriveAllowPolicy",
    "DeduplicationScope",
    "FifoThroughputLimit",
}
READ_ONLY_ATTRIBUTES = {
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
}


def _bool(name: str, raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise invalid_value(f"Invalid value for the parameter {name}.")
    return raw.lower() == "true"


def _redrive(call: Call, raw: str, *, fifo: bool) -> dict[str, Any]:
    if raw == "":
        return {"dead_letter_queue": None, "max_receives": None}
    bad = f"Value {raw} for parameter RedrivePolicy is invalid."
    try:
        policy = json.loads(raw)
        arn = arns.parse(str(policy["deadLetterTargetArn"]))
        max_receives = int(policy["maxReceiveCount"])
    except (ValueError, TypeError, KeyError):
        raise AwsError(
            "InvalidParameterValue",
            f"{bad} Reason: Redrive policy is not a "
            "valid JSON map with deadLetterTargetArn and maxReceiveCount.",
        ) from None
    if not 1 <= max_receives <= 1000:
        raise AwsError(
            "InvalidParameterValue",
            f"{bad} Reason: Invalid value for maxReceiveCount: must be an integer from 1 to 1000.",
        )
    name = arns.name_from(arn, "sqs") if arn else None
    dlq = MessageChannel.objects.filter(
        topology=call.topology, kind=ChannelKind.QUEUE, name=name
    ).first()
    if dlq is None:
        raise AwsError("InvalidParameterValue", f"{bad} Reason: Dead letter target does not exist.")
    if dlq.fifo != fifo:
        raise AwsError(
            "InvalidParameterValue",
            f"{bad} Reason: Dead-letter queue must be the same type of queue as the source.",
        )
    return {"dead_letter_queue": dlq, "max_receives": max_receives}


def attribute_fields(
    call: Call, attributes: dict[str, str], *, fifo: bool, creating: bool
) -> dict[str, Any]:
    """Model fields from SQS attributes, refusing what SQS refuses."""
    fields: dict[str, Any] = {}
    for name, raw in attributes.items():
        if name in INT_ATTRIBUTES:
            fields.update(INT_ATTRIBUTES[name].parse(name, raw))
        elif name == "RedrivePolicy":
            fields.update(_redrive(call, raw, fifo=fifo))
        elif name == "FifoQueue":
            if not creating:
                raise invalid_value(
                    "Invalid value for the parameter FifoQueue. Reason: "
                    "FifoQueue cannot be changed."
                )
            if _bool(name, raw) != fifo:
                raise invalid_value(
                    "The name of a FIFO queue can only include alphanumeric "
                    "characters, hyphens, or underscores, must end with .fifo "
                    "suffix and be 1 to 80 in length."
                )
        elif name == "ContentBasedDeduplication":
            if not fifo:
                raise unknown_attribute(name)
            fields["content_based_deduplication"] = _bool(name, raw)
        elif name in IGNORED_ATTRIBUTES:
            continue
        else:
            raise unknown_attribute(name)
    return fields


def queue_attributes(call: Call, queue: MessageChannel) -> dict[str, str]:
    """Every attribute SQS answers for ``All``, the counts read from the live run."""
    live = selectors.queue_depths(topology_id=queue.topology_id).get(queue.pk, {})
    attributes = {
        "QueueArn": arns.queue_arn(call, queue.name),
        "ApproximateNumberOfMessages": str(live.get("depth", 0)),
        "ApproximateNumberOfMessagesNotVisible": str(live.get("in_flight", 0)),
        "ApproximateNumberOfMessagesDelayed": "0",
        **{name: attr.show(queue) for name, attr in INT_ATTRIBUTES.items()},
        "SqsManagedSseEnabled": "false",
    }
    if queue.dead_letter_queue is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": arns.queue_arn(call, queue.dead_letter_queue.name),
                "maxReceiveCount": queue.max_receives or 1,
            },
            separators=(",", ":"),
        )
    if queue.fifo:
        attributes["FifoQueue"] = "true"
        attributes["ContentBasedDeduplication"] = str(queue.content_based_deduplication).lower()
    return attributes


def _validation(exc: ValidationError) -> AwsError:
    return AwsError("InvalidParameterValue", resources.error_text(exc))


# --- operations -----------------------------------------------------------------------------


@operation("sqs", "CreateQueue", write=True)
def create_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name: str = params["QueueName"]
    attributes: dict[str, str] = params.get("Attributes") or {}
    fifo = name.endswith(FIFO_SUFFIX)
    if not arns.QUEUE_NAME_RE.match(name.removesuffix(FIFO_SUFFIX)) or len(name) > 80:
        raise AwsError(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        )
    if attributes.get("FifoQueue", "false").lower() == "true" and not fifo:
        raise invalid_value(
            "The name of a FIFO queue can only include alphanumeric "
            "characters, hyphens, or underscores, must end with .fifo suffix "
            "and be 1 to 80 in length."
        )
    if fifo and attributes.get("FifoQueue", "").lower() != "true":
        raise AwsError(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        )
    fields = attribute_fields(call, attributes, fifo=fifo, creating=True)
    existing = MessageChannel.objects.filter(topology=call.topology, name=name).first()
    if existing is not None:
        if existing.kind != ChannelKind.QUEUE:
            raise AwsError(
                "InvalidParameterValue",
                f"{name} is already the name of a "
                f"{existing.kind} in this topology (EventViz channel names are "
                "unique across queues, topics and buses).",
            )
        for field, value in fields.items():
            current = getattr(existing, field)
            if current != value:
                raise AwsError(
                    "QueueNameExists",
                    "A queue already exists with the same name and a different value for "
                    f"attribute {_attribute_of(field)}",
                    query_code="QueueAlreadyExists",
                )
        return {"QueueUrl": arns.queue_url(call, name)}
    try:
        resources.channel_create(
            topology=call.topology,
            kind=ChannelKind.QUEUE,
            name=name,
            fields={**fields, "fifo": fifo},
        )
    except ValidationError as exc:
        raise _validation(exc) from None
    return {"QueueUrl": arns.queue_url(call, name)}


def _attribute_of(field: str) -> str:
    for name, attr in INT_ATTRIBUTES.items():
        if attr.field == field:
            return name
    return {
        "dead_letter_queue": "RedrivePolicy",
        "max_receives": "RedrivePolicy",
        "content_based_deduplication": "ContentBasedDeduplication",
    }.get(field, field)


@operation("sqs", "GetQueueUrl", write=False)
def get_queue_url(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    queue = queue_from_url(call, params["QueueName"])
    return {"QueueUrl": arns.queue_url(call, queue.name)}


@operation("sqs", "ListQueues", write=False)
def list_queues(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("QueueNamePrefix") or ""
    names = list(
        MessageChannel.objects.filter(
            topology=call.topology, kind=ChannelKind.QUEUE, name__startswith=prefix
        )
        .order_by("name")
        .values_list("name", flat=True)
    )
    limit = params.get("MaxResults")
    if limit is not None and not 1 <= limit <= 1000:
        raise AwsError(
            "InvalidParameterValue",
            "Value for parameter MaxResults is invalid. "
            "Reason: MaxResults must be an integer between 1 and 1000.",
        )
    items, token = page(names, params.get("NextToken"), limit or 1000, invalid=_bad_token)
    return {
        "QueueUrls": [arns.queue_url(call, n) for n in items] or None,
        "NextToken": token if limit is not None else None,
    }


def _bad_token() -> AwsError:
    return AwsError("InvalidParameterValue", "Invalid NextToken value.")


@operation("sqs", "DeleteQueue", write=True)
def delete_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    queue = queue_from_url(call, params["QueueUrl"])
    resources.channel_delete(channel=queue, actor=call.actor, reason=call.reason)
    return {}


@operation("sqs", "GetQueueAttributes", write=False)
def get_queue_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    queue = queue_from_url(call, params["QueueUrl"])
    wanted: list[str] = params.get("AttributeNames") or []
    known = {
        *INT_ATTRIBUTES,
        *READ_ONLY_ATTRIBUTES,
        *IGNORED_ATTRIBUTES,
        "RedrivePolicy",
        "FifoQueue",
        "ContentBasedDeduplication",
        "All",
    }
    for name in wanted:
        if name not in known:
            raise unknown_attribute(name)
    attributes = queue_attributes(call, queue)
    if "All" not in wanted:
        attributes = {k: v for k, v in attributes.items() if k in wanted}
    return {"Attributes": attributes or None}


@operation("sqs", "SetQueueAttributes", write=True)
def set_queue_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    queue = queue_from_url(call, params["QueueUrl"])
    attributes: dict[str, str] = params["Attributes"]
    for name in attributes:
        if name in READ_ONLY_ATTRIBUTES:
            raise unknown_attribute(name)
    fields = attribute_fields(call, attributes, fifo=queue.fifo, creating=False)
    if fields.get("dead_letter_queue") is not None and fields["dead_letter_queue"].pk == queue.pk:
        raise AwsError(
            "InvalidParameterValue",
            f"Value {attributes['RedrivePolicy']} for "
            "parameter RedrivePolicy is invalid. Reason: Source queue cannot be "
            "its own dead-letter queue.",
        )
    try:
        resources.channel_update(channel=queue, fields=fields)
    except ValidationError as exc:
        raise _validation(exc) from None
    return {}
