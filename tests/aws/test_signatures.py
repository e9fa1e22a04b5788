"""Who may call: SigV4 checked against stored secrets, refusals as AWS spells them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from flows.aws import credentials
from flows.models import MessageChannel

pytestmark = pytest.mark.stack


def _error(call) -> dict:
    with pytest.raises(ClientError) as error:
        call()
    return {
        "code": error.value.response["Error"]["Code"],
        "status": error.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "message": error.value.response["Error"]["Message"],
        "exception": type(error.value).__name__,
    }


def test_a_wrong_secret_is_signature_does_not_match(issue, client_for) -> None:
    key, _secret = issue()
    wrong = "x" * 40
    sqs = client_for("sqs", key.access_key_id, wrong)
    assert _error(lambda: sqs.list_queues())["code"] == "SignatureDoesNotMatch"
    sns = client_for("sns", key.access_key_id, wrong)
    assert _error(lambda: sns.list_topics()) | {"message": ""} == {
        "code": "SignatureDoesNotMatch",
        "status": 403,
        "message": "",
        "exception": "ClientError",
    }
    events = client_for("events", key.access_key_id, wrong)
    assert _error(lambda: events.list_rules())["code"] == "InvalidSignatureException"


def test_an_unknown_or_revoked_key_is_refused(issue, client_for) -> None:
    key, secret = issue()
    credentials.apikey_revoke(key=key)
    events = client_for("events", key.access_key_id, secret)
    assert _error(lambda: events.list_rules())["code"] == "UnrecognizedClientException"
    sns = client_for("sns", "EVZKNOSUCHKEY0000000", secret)
    refused = _error(lambda: sns.list_topics())
    assert (refused["code"], refused["status"]) == ("InvalidClientTokenId", 403)
    sqs = client_for("sqs", "EVZKNOSUCHKEY0000000", secret)
    assert _error(lambda: sqs.list_queues())["code"] == "InvalidClientTokenId"


def test_a_read_only_key_reads_but_may_not_write(issue, client_for, topology) -> None:
    key, secret = issue(read_only=True)
    sqs = client_for("sqs", key.access_key_id, secret)
    assert "QueueUrls" not in sqs.list_queues()
    assert _error(lambda: sqs.create_queue(QueueName="q"))["code"] == "AccessDenied"
    events = client_for("events", key.access_key_id, secret)
    assert _error(lambda: events.create_event_bus(Name="b"))["exception"] == (
        "AccessDeniedException"
    )
    sns = client_for("sns", key.access_key_id, secret)
    assert _error(lambda: sns.create_topic(Name="t"))["exception"] == (
        "AuthorizationErrorException"
    )
    assert not MessageChannel.objects.filter(topology=topology).exists()


def test_a_request_signed_more_than_15_minutes_ago_is_refused(
    issue, client_for, monkeypatch
) -> None:
    key, secret = issue()
    old = datetime.now(UTC) - timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: old.replace(tzinfo=None))
    sqs = client_for("sqs", key.access_key_id, secret)
    refused = _error(lambda: sqs.list_queues())
    assert refused["code"] == "SignatureDoesNotMatch"
    assert refused["message"].startswith("Signature expired:")
    events = client_for("events", key.access_key_id, secret)
    refused = _error(lambda: events.list_rules())
    assert refused["code"] == "InvalidSignatureException"
    assert refused["message"].startswith("Signature expired:")


def test_a_good_signature_records_when_the_key_was_last_used(issue, client_for) -> None:
    key, secret = issue()
    client_for("sqs", key.access_key_id, secret).list_queues()
    key.refresh_from_db()
    assert key.last_used_at is not None
