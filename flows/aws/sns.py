"""SNS control plane: topics as ``topic`` channels, subscriptions to queues and consumers.

Publish and PublishBatch are not served here yet; they plug in as more handlers.
A subscription's protocol says what it delivers to: ``sqs`` (a queue of the topology)
or ``lambda`` (a consumer of that name, created when missing).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError

from flows import dataplane, resources
from flows.aws import arns, messages, sqs_messages
from flows.aws.dispatch import Call, operation
from flows.aws.errors import AwsError
from flows.aws.paging import page
from flows.models import ChannelKind, FilterScope, MessageChannel, Subscription

TOPIC_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PAGE = 100


def invalid(what: str) -> AwsError:
    return AwsError("InvalidParameter", f"Invalid parameter: {what}")


def not_found(message: str) -> AwsError:
    return AwsError("NotFound", message, status=404)


def topic_from_arn(call: Call, text: str, *, param: str = "TopicArn") -> MessageChannel:
    arn = arns.parse(text)
    name = arns.name_from(arn, "sns") if arn else None
    if name is None:
        raise invalid(param)
    topic = MessageChannel.objects.filter(
        topology=call.topology, kind=ChannelKind.TOPIC, name=name
    ).first()
    if topic is None:
        raise not_found("Topic does not exist")
    return topic


def subscription_from_arn(call: Call, text: str) -> Subscription:
    arn = arns.parse(text)
    topic, _, number = (arn.resource if arn and arn.service == "sns" else "").rpartition(":")
    if not topic or not number.isdigit():
        raise invalid("SubscriptionArn")
    subscription = (
        Subscription.objects.select_related("channel", "consumer", "target_channel")
        .filter(pk=int(number), channel__topology=call.topology, channel__kind=ChannelKind.TOPIC)
        .first()
    )
    if subscription is None:
        raise not_found("Subscription does not exist")
    return subscription


def describe(call: Call, subscription: Subscription) -> dict[str, str]:
    """SubscriptionArn, Owner, Protocol, Endpoint, TopicArn of a topic subscription."""
    if subscription.consumer_id is not None:
        protocol, endpoint = "lambda", arns.lambda_arn(call, subscription.consumer.name)
    elif subscription.target_channel.kind == ChannelKind.QUEUE:
        protocol, endpoint = "sqs", arns.queue_arn(call, subscription.target_channel.name)
    else:
        protocol, endpoint = "sns", arns.topic_arn(call, subscription.target_channel.name)
    return {
        "SubscriptionArn": arns.subscription_arn(call, subscription.channel.name, subscription.pk),
        "Owner": call.account,
        "Protocol": protocol,
        "Endpoint": endpoint,
        "TopicArn": arns.topic_arn(call, subscription.channel.name),
    }


def subscription_fields(call: Call, attributes: dict[str, str], protocol: str) -> dict[str, Any]:
    """Subscription model fields from SNS subscription attributes."""
    fields: dict[str, Any] = {}
    for name, raw in attributes.items():
        if name == "FilterPolicy":
            if raw == "":
                fields["filter_policy"] = None
                continue
            try:
                fields["filter_policy"] = json.loads(raw)
            except ValueError:
                raise invalid("FilterPolicy: failed to parse JSON.") from None
        elif name == "FilterPolicyScope":
            if raw not in FilterScope.values:
                raise invalid(
                    f"Attributes Reason: FilterPolicyScope: Invalid value [{raw}]. "
                    "Please use either MessageBody or MessageAttributes"
                )
            fields["filter_scope"] = raw
        elif name == "RawMessageDelivery":
            if raw.lower() not in ("true", "false"):
                raise invalid(
                    "Attributes Reason: RawMessageDelivery: Invalid value "
                    f"[{raw}]. Must be true or false."
                )
            if protocol == "lambda" and raw.lower() == "true":
                raise invalid(
                    "Attributes Reason: Delivery protocol [lambda] does not "
                    "support raw message delivery."
                )
            fields["raw_message_delivery"] = raw.lower() == "true"
        elif name == "RedrivePolicy":
            fields["dead_letter_queue"] = _redrive_queue(call, raw)
        elif name in ("DeliveryPolicy", "SubscriptionRoleArn", "ReplayPolicy"):
            continue  # accepted, not simulated
        else:
            raise invalid(f"Attributes Reason: Unknown attribute {name}")
    return fields


def _redrive_queue(call: Call, raw: str) -> MessageChannel | None:
    if raw == "":
        return None
    try:
        arn = arns.parse(str(json.loads(raw)["deadLetterTargetArn"]))
    except (ValueError, KeyError, TypeError):
        raise invalid("RedrivePolicy: deadLetterTargetArn is missing or not valid.") from None
    name = arns.name_from(arn, "sqs") if arn else None
    queue = MessageChannel.objects.filter(
        topology=call.topology, kind=ChannelKind.QUEUE, name=name
    ).first()
    if queue is None:
        raise invalid("RedrivePolicy: deadLetterTargetArn: the queue does not exist.")
    return queue


def subscription_attributes(call: Call, subscription: Subscription) -> dict[str, str]:
    described = describe(call, subscription)
    attributes = {
        **described,
        "ConfirmationWasAuthenticated": "true",
        "PendingConfirmation": "false",
        "RawMessageDelivery": str(subscription.raw_message_delivery).lower(),
    }
    if subscription.filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(subscription.filter_policy)
        attributes["FilterPolicyScope"] = subscription.filter_scope
    if subscription.dead_letter_queue is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arns.queue_arn(call, subscription.dead_letter_queue.name)}
        )
    return attributes


# Subscription fields by the attribute names SNS uses for them in messages.
FIELD_ATTRIBUTES = {
    "filter_policy": "FilterPolicy",
    "filter_scope": "FilterPolicyScope",
    "dead_letter_queue": "RedrivePolicy",
    "raw_message_delivery": "RawMessageDelivery",
}


def _validation(exc: ValidationError) -> AwsError:
    if hasattr(exc, "message_dict"):
        return invalid(
            "; ".join(
                f"{FIELD_ATTRIBUTES.get(field, field)}: {' '.join(messages)}"
                for field, messages in exc.message_dict.items()
            )
        )
    return invalid(resources.error_text(exc))


def _topic_subscriptions(call: Call) -> Any:
    return Subscription.objects.select_related(
        "channel", "consumer", "target_channel", "dead_letter_queue"
    ).filter(channel__topology=call.topology, channel__kind=ChannelKind.TOPIC)


def _bad_token() -> AwsError:
    return invalid("NextToken")


# --- topics ---------------------------------------------------------------------------------


@operation("sns", "CreateTopic", write=True)
def create_topic(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name: str = params["Name"]
    if name.endswith(".fifo") or (params.get("Attributes") or {}).get("FifoTopic") == "true":
        raise invalid("Topic Name: FIFO topics are not simulated by EventViz")
    if not TOPIC_NAME_RE.match(name):
        raise invalid("Topic Name")
    existing = MessageChannel.objects.filter(topology=call.topology, name=name).first()
    if existing is not None and existing.kind != ChannelKind.TOPIC:
        raise invalid(
            f"Topic Name: {name} is already the name of a {existing.kind} in this "
            "topology (EventViz channel names are unique across kinds)"
        )
    if existing is None:
        try:
            resources.channel_create(topology=call.topology, kind=ChannelKind.TOPIC, name=name)
        except ValidationError as exc:
            raise _validation(exc) from None
    return {"TopicArn": arns.topic_arn(call, name)}


@operation("sns", "ListTopics", write=False)
def list_topics(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    names = list(
        MessageChannel.objects.filter(topology=call.topology, kind=ChannelKind.TOPIC)
        .order_by("name")
        .values_list("name", flat=True)
    )
    items, token = page(names, params.get("NextToken"), PAGE, invalid=_bad_token)
    return {"Topics": [{"TopicArn": arns.topic_arn(call, n)} for n in items], "NextToken": token}


@operation("sns", "DeleteTopic", write=True)
def delete_topic(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    try:
        topic = topic_from_arn(call, params["TopicArn"])
    except AwsError as exc:
        if exc.code == "NotFound":
            return {}  # SNS: deleting a topic that does not exist is not an error
        raise
    resources.channel_delete(channel=topic, actor=call.actor, reason=call.reason)
    return {}


@operation("sns", "GetTopicAttributes", write=False)
def get_topic_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    topic = topic_from_arn(call, params["TopicArn"])
    confirmed = topic.subscriptions.count()
    return {
        "Attributes": {
            "TopicArn": arns.topic_arn(call, topic.name),
            "Owner": call.account,
            "DisplayName": "",
            "SubscriptionsConfirmed": str(confirmed),
            "SubscriptionsPending": "0",
            "SubscriptionsDeleted": "0",
        }
    }


# --- subscriptions --------------------------------------------------------------------------


@operation("sns", "Subscribe", write=True)
def subscribe(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    topic = topic_from_arn(call, params["TopicArn"])
    protocol = params["Protocol"].lower()
    endpoint = params.get("Endpoint") or ""
    arn = arns.parse(endpoint)
    subscriber: dict[str, Any]
    if protocol == "sqs":
        name = arns.name_from(arn, "sqs") if arn else None
        if name is None:
            raise invalid("SQS endpoint ARN")
        queue = MessageChannel.objects.filter(
            topology=call.topology, kind=ChannelKind.QUEUE, name=name
        ).first()
        if queue is None:
            raise invalid(f"Endpoint: no queue {name} in this topology")
        subscriber = {"target_channel": queue, "consumer": None}
    elif protocol == "lambda":
        name = arns.name_from(arn, "lambda") if arn else None
        if name is None:
            raise invalid("Lambda endpoint ARN")
        subscriber = {
            "consumer": resources.consumer_for(topology=call.topology, name=name),
            "target_channel": None,
        }
    else:
        raise invalid(f"Protocol: {protocol} is not simulated by EventViz (sqs, lambda)")
    fields = subscription_fields(call, params.get("Attributes") or {}, protocol)
    existing = Subscription.objects.filter(channel=topic, mirror_of=None, **subscriber).first()
    try:
        if existing is None:
            subscription = resources.subscription_create(
                channel=topic,
                fields={**subscriber, **fields},
                actor=call.actor,
                reason=call.reason,
            )
        else:
            if any(getattr(existing, field) != value for field, value in fields.items()):
                raise invalid(
                    "Attributes Reason: Subscription already exists with different attributes"
                )
            subscription = existing
    except ValidationError as exc:
        raise _validation(exc) from None
    return {"SubscriptionArn": arns.subscription_arn(call, topic.name, subscription.pk)}


@operation("sns", "Unsubscribe", write=True)
def unsubscribe(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    subscription = subscription_from_arn(call, params["SubscriptionArn"])
    resources.subscription_delete(subscription=subscription, actor=call.actor, reason=call.reason)
    return {}


@operation("sns", "ListSubscriptions", write=False)
def list_subscriptions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    subscriptions = list(_topic_subscriptions(call).order_by("pk"))
    items, token = page(subscriptions, params.get("NextToken"), PAGE, invalid=_bad_token)
    return {"Subscriptions": [describe(call, s) for s in items], "NextToken": token}


@operation("sns", "ListSubscriptionsByTopic", write=False)
def list_subscriptions_by_topic(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    topic = topic_from_arn(call, params["TopicArn"])
    subscriptions = list(_topic_subscriptions(call).filter(channel=topic).order_by("pk"))
    items, token = page(subscriptions, params.get("NextToken"), PAGE, invalid=_bad_token)
    return {"Subscriptions": [describe(call, s) for s in items], "NextToken": token}


@operation("sns", "GetSubscriptionAttributes", write=False)
def get_subscription_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    subscription = subscription_from_arn(call, params["SubscriptionArn"])
    return {"Attributes": subscription_attributes(call, subscription)}


@operation("sns", "SetSubscriptionAttributes", write=True)
def set_subscription_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    subscription = subscription_from_arn(call, params["SubscriptionArn"])
    protocol = describe(call, subscription)["Protocol"]
    name = params["AttributeName"]
    fields = subscription_fields(call, {name: params.get("AttributeValue") or ""}, protocol)
    try:
        resources.subscription_update(
            subscription=subscription, fields=fields, actor=call.actor, reason=call.reason
        )
    except ValidationError as exc:
        raise _validation(exc) from None
    return {}


# --- data plane: Publish, PublishBatch (coroutines: no thread, no database) -----------------


def _publish_entry(call: Call, topic: Any, topic_arn: str, entry: dict[str, Any]) -> Any:
    """One message to publish, checked as SNS checks it."""
    message = entry.get("Message")
    if message is None:
        raise AwsError("InvalidParameter", "Invalid parameter: Message")
    if message == "":
        raise invalid("Empty message")
    if entry.get("MessageStructure") == "json":
        try:
            structured = json.loads(message)
        except ValueError:
            raise invalid("Message Structure - No JSON message body is parseable") from None
        if not isinstance(structured, dict) or "default" not in structured:
            raise invalid("Message Structure - No default entry in JSON message body")
        message = str(structured.get("sqs", structured["default"]))
    attributes: dict[str, Any] = entry.get("MessageAttributes") or {}
    problem = messages.attributes_problem(attributes, sns=True)
    if problem:
        raise invalid(f"MessageAttributes: {problem}")
    if len(message.encode()) + messages.attributes_size(attributes) > messages.MAX_MESSAGE_BYTES:
        raise invalid("Message too long")
    group = entry.get("MessageGroupId")
    dedup = entry.get("MessageDeduplicationId")
    envelope = messages.sns_envelope(
        message,
        attributes,
        topic_arn=topic_arn,
        subject=entry.get("Subject"),
        group=group,
        dedup=dedup,
        sender=call.key.access_key_id if call.key is not None else "unsigned",
    )
    return dataplane.Outgoing(topic.name, "topic", envelope)


async def _topic(call: Call, arn_text: str | None) -> tuple[Any, Any, str]:
    who = sqs_messages.caller(call)
    arn = arns.parse(arn_text or "")
    name = arns.name_from(arn, "sns") if arn else None
    if name is None:
        raise invalid("TopicArn")
    _live, topic = await dataplane.find_channel(who, name, "topic")
    if topic is None:
        raise not_found("Topic does not exist")
    return who, topic, arns.topic_arn(call, name)


@operation("sns", "Publish", write=True)
async def publish(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("PhoneNumber"):
        raise invalid("PhoneNumber: EventViz delivers to topics only")
    who, topic, topic_arn = await _topic(call, params.get("TopicArn") or params.get("TargetArn"))
    outgoing = _publish_entry(call, topic, topic_arn, params)
    [message_id] = await dataplane.send(who, [outgoing])
    if message_id is None:
        raise not_found("Topic does not exist")
    return {
        "MessageId": message_id,
        "SequenceNumber": "0" if params.get("MessageGroupId") else None,
    }


@operation("sns", "PublishBatch", write=True)
async def publish_batch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = params.get("PublishBatchRequestEntries") or []
    if not entries:
        raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries")
    if len(entries) > 10:
        raise AwsError(
            "TooManyEntriesInBatchRequest",
            "The batch request contains more entries than permissible",
        )
    if len({e.get("Id") for e in entries}) != len(entries):
        raise AwsError(
            "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id"
        )
    who, topic, topic_arn = await _topic(call, params.get("TopicArn"))
    total = sum(len(str(e.get("Message") or "").encode()) for e in entries)
    if total > messages.MAX_MESSAGE_BYTES:
        raise AwsError(
            "BatchRequestTooLong",
            "The length of all the messages put together is more than the limit",
        )
    failed, ready = [], []
    for entry in entries:
        try:
            ready.append((entry["Id"], _publish_entry(call, topic, topic_arn, entry)))
        except AwsError as exc:
            failed.append(
                {"Id": entry["Id"], "Code": exc.code, "Message": exc.message, "SenderFault": True}
            )
    sent = await dataplane.send(who, [o for _, o in ready]) if ready else []
    successful = [
        {
            "Id": entry_id,
            "MessageId": mid,
            "SequenceNumber": "0" if o.envelope.get("group") else None,
        }
        for (entry_id, o), mid in zip(ready, sent, strict=True)
    ]
    return {"Successful": successful, "Failed": failed}
