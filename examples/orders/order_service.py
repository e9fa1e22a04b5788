"""An order service: each order is an EventBridge event and a job on an SQS queue.

Point it at EventViz with the three variables ``manage.py apikey`` prints (plus the
region), then run it: ``python examples/orders/order_service.py``. It makes the queue,
the bus and a rule to the queue on first run (with the key's topology), so there is
nothing to set up in admin.
"""

from __future__ import annotations

import json
import random
import time
import uuid

import boto3

BUS = "orders-bus"
QUEUE = "order-jobs"
DLQ = "order-jobs-dlq"


def setup(sqs, events) -> str:
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    url = sqs.create_queue(
        QueueName=QUEUE, Attributes={"VisibilityTimeout": "5", "RedrivePolicy": redrive}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.create_event_bus(Name=BUS) if BUS not in [
        b["Name"] for b in events.list_event_buses()["EventBuses"]
    ] else None
    events.put_rule(
        Name="big-orders",
        EventBusName=BUS,
        EventPattern=json.dumps({"detail": {"total": [{"numeric": [">", 500]}]}}),
    )
    events.put_targets(Rule="big-orders", EventBusName=BUS, Targets=[{"Id": "jobs", "Arn": arn}])
    return url


def main() -> None:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = setup(sqs, events)
    print(f"sending orders to {BUS} and {QUEUE}; Ctrl-C stops")
    while True:
        order = {
            "order_id": str(uuid.uuid4()),
            "total": round(random.uniform(5, 900), 2),
            "region": random.choice(["eu-west", "us-east"]),
        }
        answer = events.put_events(
            Entries=[
                {
                    "Source": "shop.orders",
                    "DetailType": "OrderPlaced",
                    "Detail": json.dumps(order),
                    "EventBusName": BUS,
                }
            ]
        )
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"job": "invoice", **order}),
            MessageAttributes={"MessageType": {"DataType": "String", "StringValue": "Invoice"}},
        )
        print(
            f"order {order['order_id'][:8]} total {order['total']:>7} -> event "
            f"{answer['Entries'][0].get('EventId', answer['Entries'][0])}"
        )
        time.sleep(0.5)


if __name__ == "__main__":
    main()
