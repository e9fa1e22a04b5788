"""A worker that long-polls the order queue and sometimes fails.

A failed job is not deleted: it shows again after the visibility timeout and, after three
receives, goes to the dead-letter queue; watch it on the dashboard.
"""

from __future__ import annotations

import json
import random

import boto3

QUEUE = "order-jobs"
FAILURE_RATE = 0.2


def main() -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    print(f"polling {QUEUE}; Ctrl-C stops")
    while True:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=20,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            tries = message["Attributes"]["ApproximateReceiveCount"]
            if random.random() < FAILURE_RATE:
                print(f"failed {body.get('order_id', body.get('id', '?'))} (receive {tries})")
                continue  # not deleted: SQS hands it out again after the visibility timeout
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            print(f"done   {body.get('order_id', body.get('id', '?'))} (receive {tries})")


if __name__ == "__main__":
    main()
