"""AWS wire protocols on ``/aws``: SQS, SNS and EventBridge as the unmodified SDKs speak them.

One path serves all three; the ``X-Amz-Target`` header (JSON protocols: ``AWSEvents.*``,
``AmazonSQS.*``) or the ``Action``/``Version`` parameters (query protocol: SNS, and SQS's
older dialect) say which service and operation. Requests are signed with an API key
(``models.ApiKey``, issued in admin or with ``manage.py apikey``) and checked with
botocore's SigV4 signer (``sigv4``); ``EVENTVIZ_AWS_ANONYMOUS_TOPOLOGY`` allows unsigned
local use for one topology. Each operation is a handler (``dispatch.operation``) that
translates only: it parses, calls a service (``flows.resources``, ``flows.rules``) or a
selector, and shapes the answer; errors come in AWS's codes and shapes (``errors``).

Served (control plane):

- SQS: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
  SetQueueAttributes (JSON 1.0, and the query protocol through the same handlers).
- SNS: CreateTopic, ListTopics, DeleteTopic, GetTopicAttributes, Subscribe (``sqs`` to a
  queue ARN, ``lambda`` to a consumer), Unsubscribe, ListSubscriptions,
  ListSubscriptionsByTopic, Get/SetSubscriptionAttributes.
- EventBridge: ListEventBuses, DescribeEventBus, CreateEventBus, DeleteEventBus, PutRule,
  DescribeRule, ListRules, EnableRule, DisableRule, DeleteRule, PutTargets,
  RemoveTargets, ListTargetsByRule, TestEventPattern.

Not yet: the data plane (SendMessage, ReceiveMessage, DeleteMessage, Publish, PutEvents,
...); each is one more handler on the engine's services. Accepted but not simulated,
so not stored: queue Policy/KMS attributes, topic attributes, target RoleArn.
"""
