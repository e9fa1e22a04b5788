"""SQS data plane: messages into and out of the topology's running run.

Every handler here is a coroutine: it runs on the event loop, talks to Redis only
(``flows.dataplane``), and never holds a thread or a database connection, so a
ReceiveMessage that long-polls for 20 seconds costs nothing while it waits.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from flows import dataplane
from flows.aws import arns, messages
from flows.aws.dispatch import Call, operation
from flows.aws.errors import AwsError
from flows.aws.sqs import no_queue
from flows.engine.config import ChannelCfg
from flows.engine.external import Receipt, parse_receipt

BATCH_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_BATCH = 10
SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
)


def caller(call: Call) -> dataplane.Caller:
    return dataplane.Caller(
        topology=call.topology,
        key_pk=call.key.pk if call.key is not None else None,
        key_id=call.key.access_key_id if call.key is not None else "unsigned",
        user_agent=call.user_agent,
        operation=f"{call.service}:{call.operation}",
    )


def _sqs_error(name: str, message: str) -> AwsError:
    return AwsError(name, message, query_code=f"AWS.SimpleQueueService.{name}")


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


async def _queue(call: Call, url: str) -> tuple[dataplane.Caller, ChannelCfg]:
    who = caller(call)
    name = arns.queue_name_from_url(url)
    if not name:
        raise no_queue()
    _live, queue = await dataplane.find_channel(who, name, "queue")
    if queue is None:
        raise no_queue()
    return who, queue


# --- sending ------------------------------------------------------------------------------


@dataclass
class _Prepared:
    outgoing: dataplane.Outgoing
    answer: dict[str, Any]


def _prepare(call: Call, queue: ChannelCfg, entry: dict[str, Any]) -> _Prepared:
    """One message to send, checked as SQS checks it (raises the error SQS gives)."""
    body = entry.get("MessageBody")
    if not body:
        raise AwsError("MissingParameter", "The request must contain the parameter MessageBody.")
    attributes: dict[str, Any] = entry.get("MessageAttributes") or {}
    problem = messages.attributes_problem(attributes)
    if problem:
        raise invalid(problem)
    if len(body.encode()) + messages.attributes_size(attributes) > messages.MAX_MESSAGE_BYTES:
        raise messages.size_error()
    group = entry.get("MessageGroupId")
    dedup = entry.get("MessageDeduplicationId")
    delay = entry.get("DelaySeconds")
    if delay is not None and not 0 <= delay <= 900:
        raise invalid(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: must be "
            "between 0 and 900, if provided."
        )
    if queue.fifo:
        if not group:
            raise AwsError(
                "MissingParameter", "The request must contain the parameter MessageGroupId."
            )
        if delay:
            raise invalid(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request "
                "include parameter that is not valid for this queue type."
            )
        if not dedup:
            if not queue.content_dedup:
                raise invalid(
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly"
                )
            dedup = messages.hashlib.sha256(body.encode()).hexdigest()
    elif dedup:
        raise invalid(
            "Value for parameter MessageDeduplicationId is invalid. Reason: The request "
            "includes a parameter that is not valid for this queue type."
        )
    delay_ms = queue.delay_ms if delay is None else delay * 1000
    envelope = messages.sqs_envelope(
        body,
        attributes,
        sender=call.key.access_key_id if call.key is not None else "unsigned",
        group=group,
        dedup=dedup,
        delay_ms=delay_ms,
    )
    answer = {
        "MD5OfMessageBody": messages.md5_of_body(body),
        "MD5OfMessageAttributes": messages.md5_of_attributes(attributes),
        "SequenceNumber": f"{time.time_ns():020d}" if queue.fifo else None,
    }
    return _Prepared(dataplane.Outgoing(queue.name, "queue", envelope, dedup), answer)


@operation("sqs", "SendMessage", write=True)
async def send_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    prepared = _prepare(call, queue, params)
    [message_id] = await dataplane.send(who, [prepared.outgoing])
    if message_id is None:
        raise no_queue()
    return {"MessageId": message_id, **prepared.answer}


def _batch_entries(params: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = params.get("Entries") or []
    if not entries:
        raise _sqs_error(
            "EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        )
    if len(entries) > MAX_BATCH:
        raise _sqs_error(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = str(entry.get("Id", ""))
        if not BATCH_ID_RE.match(entry_id):
            raise _sqs_error(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise _sqs_error("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return entries


def _failed(entry_id: str, error: AwsError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": error.sender,
        "Code": error.code,
        "Message": error.message,
    }


@operation("sqs", "SendMessageBatch", write=True)
async def send_message_batch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    entries = _batch_entries(params)
    total = sum(
        len(str(e.get("MessageBody") or "").encode())
        + messages.attributes_size(e.get("MessageAttributes") or {})
        for e in entries
    )
    if total > messages.MAX_MESSAGE_BYTES:
        raise _sqs_error(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {messages.MAX_MESSAGE_BYTES} bytes. "
            f"You have sent {total} bytes.",
        )
    failed: list[dict[str, Any]] = []
    ready: list[tuple[str, _Prepared]] = []
    for entry in entries:
        try:
            ready.append((entry["Id"], _prepare(call, queue, entry)))
        except AwsError as exc:
            failed.append(_failed(entry["Id"], exc))
    sent = await dataplane.send(who, [p.outgoing for _, p in ready]) if ready else []
    successful = []
    for (entry_id, prepared), message_id in zip(ready, sent, strict=True):
        if message_id is None:
            failed.append(_failed(entry_id, no_queue()))
        else:
            successful.append({"Id": entry_id, "MessageId": message_id, **prepared.answer})
    return {"Successful": successful, "Failed": failed}


# --- receiving ----------------------------------------------------------------------------


def _wanted(names: list[str], name: str) -> bool:
    for pattern in names:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


@operation("sqs", "ReceiveMessage", write=True)
async def receive_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("MaxNumberOfMessages")
    if limit is not None and not 1 <= limit <= MAX_BATCH:
        raise invalid(
            f"Value {limit} for parameter MaxNumberOfMessages is invalid. Reason: Must be "
            "between 1 and 10, if provided."
        )
    wait = params.get("WaitTimeSeconds")
    if wait is not None and not 0 <= wait <= 20:
        raise invalid(
            f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
            "and <= 20, if provided."
        )
    visibility = params.get("VisibilityTimeout")
    if visibility is not None and not 0 <= visibility <= 43200:
        raise invalid(
            f"Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be "
            ">= 0 and <= 43200, if provided."
        )
    who, queue = await _queue(call, params["QueueUrl"])
    _queue_cfg, got = await dataplane.receive(
        who,
        queue.name,
        limit=limit or 1,
        visibility_ms=None if visibility is None else visibility * 1000,
        wait_s=float(wait or 0),
    )
    live = await dataplane.live_run(who)
    system = list(params.get("MessageSystemAttributeNames") or []) + list(
        params.get("AttributeNames") or []
    )
    attribute_names = list(params.get("MessageAttributeNames") or [])
    out = []
    for d, handle in got:
        body, attributes = messages.received_body(
            d, live.config, account=call.account, region=call.region, endpoint=call.endpoint
        )
        attributes = {k: v for k, v in attributes.items() if _wanted(attribute_names, k)}
        msg = d["msg"]
        system_values = {
            "SenderId": str(msg.get("sender") or "EVENTVIZ"),
            "SentTimestamp": str(msg.get("sent_at") or int(time.time() * 1000)),
            "ApproximateReceiveCount": str(d["receives"]),
            "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
        }
        if queue.fifo:
            system_values["MessageGroupId"] = str(d.get("group", ""))
            if msg.get("dedup"):
                system_values["MessageDeduplicationId"] = str(msg["dedup"])
            system_values["SequenceNumber"] = (
                f"{int(d['id'][1:12], 16) if d['id'].startswith('e') else int(d['id']):020d}"
            )
        out.append(
            {
                "MessageId": msg["id"],
                "ReceiptHandle": handle,
                "MD5OfBody": messages.md5_of_body(body),
                "Body": body,
                "Attributes": {k: v for k, v in system_values.items() if _wanted(system, k)}
                or None,
                "MessageAttributes": attributes or None,
                "MD5OfMessageAttributes": messages.md5_of_attributes(attributes),
            }
        )
    return {"Messages": out or None}


def _handle(text: str) -> Receipt:
    handle = parse_receipt(text)
    if handle is None:
        raise AwsError(
            "ReceiptHandleIsInvalid",
            f'The input receipt handle "{text}" is not a valid receipt handle.',
        )
    return handle


@operation("sqs", "DeleteMessage", write=True)
async def delete_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    await dataplane.delete(who, queue, [_handle(params["ReceiptHandle"])])
    return {}


@operation("sqs", "DeleteMessageBatch", write=True)
async def delete_message_batch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    successful, failed, handles = [], [], []
    for entry in _batch_entries(params):
        try:
            handles.append(_handle(entry.get("ReceiptHandle") or ""))
            successful.append({"Id": entry["Id"]})
        except AwsError as exc:
            failed.append(_failed(entry["Id"], exc))
    await dataplane.delete(who, queue, handles)
    return {"Successful": successful, "Failed": failed}


def _not_inflight() -> AwsError:
    return _sqs_error("MessageNotInflight", "The message referred to is not in flight.")


def _timeout(value: Any) -> int:
    if value is None or not 0 <= value <= 43200:
        raise invalid(
            f"Value {value} for parameter VisibilityTimeout is invalid. Reason: Must be "
            ">= 0 and <= 43200, if provided."
        )
    return int(value) * 1000


@operation("sqs", "ChangeMessageVisibility", write=True)
async def change_message_visibility(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    change = (_handle(params["ReceiptHandle"]), _timeout(params.get("VisibilityTimeout")))
    [changed] = await dataplane.change_visibility(who, queue, [change])
    if not changed:
        raise _not_inflight()
    return {}


@operation("sqs", "ChangeMessageVisibilityBatch", write=True)
async def change_message_visibility_batch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    failed, changes, ids_of = [], [], []
    for entry in _batch_entries(params):
        try:
            changes.append(
                (
                    _handle(entry.get("ReceiptHandle") or ""),
                    _timeout(entry.get("VisibilityTimeout")),
                )
            )
            ids_of.append(entry["Id"])
        except AwsError as exc:
            failed.append(_failed(entry["Id"], exc))
    results = await dataplane.change_visibility(who, queue, changes) if changes else []
    successful = []
    for entry_id, changed in zip(ids_of, results, strict=True):
        if changed:
            successful.append({"Id": entry_id})
        else:
            failed.append(_failed(entry_id, _not_inflight()))
    return {"Successful": successful, "Failed": failed}


@operation("sqs", "PurgeQueue", write=True)
async def purge_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    who, queue = await _queue(call, params["QueueUrl"])
    await dataplane.purge(who, queue)
    return {}
