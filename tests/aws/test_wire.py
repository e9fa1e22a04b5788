"""Parsing and refusals on the wire, through Django's test client (no server needed)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.core.management import call_command
from django.test import Client

from flows.aws import credentials
from flows.aws.views import MAX_BODY
from flows.models import MessageChannel
from tests import factories

HOST = "testserver"


@pytest.fixture
def key(db: None) -> tuple[Any, str]:
    return credentials.apikey_issue(topology=factories.topology("shop"))


def send(
    client: Client,
    key: tuple[Any, str] | None,
    *,
    body: bytes,
    headers: dict[str, str],
    service: str,
) -> Any:
    """POST /aws/ signed by botocore's SigV4Auth, as an SDK would sign it."""
    headers = {"Host": HOST, **headers}
    if key is not None:
        request = AWSRequest(method="POST", url=f"http://{HOST}/aws/", data=body, headers=headers)
        SigV4Auth(Credentials(key[0].access_key_id, key[1]), service, "us-east-1").add_auth(request)
        headers = dict(request.headers.items())
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    content_type = extra.pop("HTTP_CONTENT_TYPE", "application/octet-stream")
    return client.generic("POST", "/aws/", data=body, content_type=content_type, **extra)


def sqs_json(client: Client, key: Any, operation: str, body: bytes | dict) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return send(
        client,
        key,
        body=raw,
        headers={
            "X-Amz-Target": f"AmazonSQS.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
        service="sqs",
    )


def query(client: Client, key: Any, service: str, params: dict[str, str]) -> Any:
    return send(
        client,
        key,
        body=urlencode(params).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service=service,
    )


def test_malformed_json_is_a_serialization_error(client: Client, key) -> None:
    response = sqs_json(client, key, "ListQueues", b"{nope")
    assert response.status_code == 400
    assert json.loads(response.content)["__type"] == "SerializationException"


def test_an_unknown_json_operation_is_unknown(client: Client, key) -> None:
    response = sqs_json(client, key, "LaunchRockets", {})
    assert response.status_code == 400
    assert json.loads(response.content)["__type"] == "UnknownOperationException"
    assert response["x-amzn-query-error"] == "InvalidAction;Sender"


def test_an_unknown_query_action_is_invalid_action(client: Client, key) -> None:
    response = query(client, key, "sns", {"Action": "LaunchRockets", "Version": "2010-03-31"})
    assert response.status_code == 400
    assert b"<Code>InvalidAction</Code>" in response.content


def test_a_missing_parameter_is_named(client: Client, key) -> None:
    response = sqs_json(client, key, "CreateQueue", {})
    assert response.status_code == 400
    assert response["x-amzn-query-error"] == "MissingParameter;Sender"
    assert "QueueName" in json.loads(response.content)["message"]
    response = query(client, key, "sns", {"Action": "CreateTopic", "Version": "2010-03-31"})
    assert b"<Code>MissingParameter</Code>" in response.content


def test_a_parameter_of_the_wrong_type_is_refused(client: Client, key) -> None:
    response = sqs_json(client, key, "CreateQueue", {"QueueName": 5})
    assert response.status_code == 400
    assert response["x-amzn-query-error"].startswith("InvalidParameterValue")


def test_an_oversize_body_is_refused_before_it_is_read(client: Client, key) -> None:
    response = sqs_json(client, key, "ListQueues", b" " * (MAX_BODY + 1))
    assert response.status_code == 413


def test_nothing_is_half_applied(client: Client, key) -> None:
    response = sqs_json(
        client,
        key,
        "CreateQueue",
        {"QueueName": "q", "Attributes": {"VisibilityTimeout": "10", "DelaySeconds": "9999"}},
    )
    assert response.status_code == 400
    assert not MessageChannel.objects.filter(name="q").exists()


def test_an_unsigned_request_is_refused_unless_local_use_is_allowed(
    client: Client, key, settings
) -> None:
    response = sqs_json(client, None, "ListQueues", {})
    assert response.status_code == 403
    assert response["x-amzn-query-error"] == "MissingAuthenticationToken;Sender"
    settings.EVENTVIZ_AWS_ANONYMOUS_TOPOLOGY = "shop"
    response = sqs_json(client, None, "CreateQueue", {"QueueName": "local"})
    assert response.status_code == 200
    assert json.loads(response.content)["QueueUrl"].endswith("/local")


def test_a_body_changed_after_signing_does_not_match(client: Client, key) -> None:
    headers = {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}
    request = AWSRequest(
        method="POST", url=f"http://{HOST}/aws/", data=b"{}", headers={"Host": HOST, **headers}
    )
    SigV4Auth(Credentials(key[0].access_key_id, key[1]), "sqs", "us-east-1").add_auth(request)
    signed = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.headers.items()}
    signed.pop("HTTP_CONTENT_TYPE")
    response = client.generic(
        "POST",
        "/aws/",
        data=b'{"QueueNamePrefix": "x"}',
        content_type="application/x-amz-json-1.0",
        **signed,
    )
    assert response.status_code == 403
    assert response["x-amzn-query-error"] == "SignatureDoesNotMatch;Sender"


def test_the_older_sqs_query_protocol_is_served_by_the_same_handlers(client: Client, key) -> None:
    response = query(
        client,
        key,
        "sqs",
        {
            "Action": "CreateQueue",
            "Version": "2012-11-05",
            "QueueName": "legacy",
            "Attribute.1.Name": "VisibilityTimeout",
            "Attribute.1.Value": "17",
        },
    )
    assert response.status_code == 200, response.content
    assert b"<CreateQueueResult><QueueUrl>http://testserver/aws/" in response.content
    assert MessageChannel.objects.get(name="legacy").visibility_timeout == 17
    response = query(
        client,
        key,
        "sqs",
        {
            "Action": "GetQueueAttributes",
            "Version": "2012-11-05",
            "QueueUrl": "http://testserver/aws/1/legacy",
            "AttributeName.1": "VisibilityTimeout",
        },
    )
    assert b"<Attribute><Name>VisibilityTimeout</Name><Value>17</Value></Attribute>" in (
        response.content
    )
    response = query(
        client,
        key,
        "sqs",
        {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "missing"},
    )
    assert response.status_code == 400
    assert b"<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in response.content


def test_manage_py_apikey_prints_the_variables_to_export(db: None, capsys) -> None:
    factories.topology("shop")
    call_command("apikey", "shop", "--read-only", "--endpoint", "http://example:8000/aws")
    lines = capsys.readouterr().out.splitlines()
    names = [line.split("=", 1)[0] for line in lines]
    assert names == [
        "export AWS_ENDPOINT_URL",
        "export AWS_ACCESS_KEY_ID",
        "export AWS_SECRET_ACCESS_KEY",
        "export AWS_DEFAULT_REGION",
    ]
    key_id = lines[1].split("=", 1)[1]
    secret = lines[2].split("=", 1)[1]
    key = credentials.apikey_active(key_id)
    assert key is not None and key.read_only
    assert credentials.decrypt_secret(key.secret_encrypted) == secret
    assert secret not in key.secret_encrypted


def test_admin_issues_a_key_and_shows_its_secret_once(admin_client: Client) -> None:
    topology = factories.topology("shop")
    response = admin_client.post(
        "/admin/flows/apikey/add/",
        {"topology": topology.pk, "scope": "read-write", "account_id": "", "description": "ci"},
        follow=True,
    )
    assert response.status_code == 200
    key = topology.api_keys.get()
    secret = credentials.decrypt_secret(key.secret_encrypted)
    assert secret in response.content.decode()
    assert key.account_id == f"{topology.pk:012d}"
    page = admin_client.get(f"/admin/flows/apikey/{key.pk}/change/").content.decode()
    assert secret not in page
