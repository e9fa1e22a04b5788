"""AWS errors as each protocol spells them, so the SDK raises the class apps handle.

A handler raises ``AwsError`` with the service's own code (``QueueDoesNotExist``,
``NotFound``, ``ResourceNotFoundException``); errors that every service has (bad
signature, unknown action, missing parameter, ...) are made by ``common`` with the
spelling of the protocol that answers:

- ``events``: JSON 1.1, ``{"__type": code, "message": ...}``, mostly HTTP 400.
- ``sqs``: JSON 1.0 with the awsQueryCompatible trait: the JSON ``__type`` plus the
  ``x-amzn-query-error: <query code>;Sender`` header, which botocore turns into the old
  query error code (``AWS.SimpleQueueService.NonExistentQueue``) and the modeled class.
- ``sqs-query`` / ``sns``: the query protocol's XML ``ErrorResponse``.
"""

from __future__ import annotations

from dataclasses import dataclass

# The four dialects an error can be spelled in (see the module docstring).
EVENTS = "events"
SQS = "sqs"
SQS_QUERY = "sqs-query"
SNS = "sns"


class AwsError(Exception):
    """An error answer. ``code`` is the JSON ``__type`` / query ``Code``; ``query_code``
    is what SQS's query compatibility reports instead (defaults to ``code``)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        query_code: str | None = None,
        sender: bool = True,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.query_code = query_code or code
        self.sender = sender


@dataclass(frozen=True)
class _Spelling:
    code: str
    status: int
    query_code: str | None = None


def _same(json_code: str, json_status: int, query_code: str, query_status: int) -> dict:
    """JSON services say ``json_code``; SQS adds ``query_code``; query services say it."""
    return {
        EVENTS: _Spelling(json_code, json_status),
        SQS: _Spelling(json_code, query_status, query_code),
        SQS_QUERY: _Spelling(query_code, query_status),
        SNS: _Spelling(query_code, query_status),
    }


_COMMON: dict[str, dict[str, _Spelling]] = {
    "missing_token": _same(
        "MissingAuthenticationTokenException", 403, "MissingAuthenticationToken", 403
    ),
    "incomplete_signature": _same("IncompleteSignatureException", 400, "IncompleteSignature", 400),
    "unknown_key": _same("UnrecognizedClientException", 400, "InvalidClientTokenId", 403),
    "bad_signature": _same("InvalidSignatureException", 400, "SignatureDoesNotMatch", 403),
    "access_denied": {
        **_same("AccessDeniedException", 400, "AccessDenied", 403),
        # SNS refuses an IAM-denied call with its own modeled AuthorizationError.
        SNS: _Spelling("AuthorizationError", 403),
    },
    "unknown_operation": _same("UnknownOperationException", 400, "InvalidAction", 400),
    "missing_parameter": {
        **_same("ValidationException", 400, "MissingParameter", 400),
        SQS: _Spelling("MissingParameter", 400),
    },
    "invalid_parameter": {
        **_same("ValidationException", 400, "InvalidParameterValue", 400),
        SQS: _Spelling("InvalidParameterValue", 400),
        SNS: _Spelling("InvalidParameter", 400),
    },
    "malformed": {
        **_same("SerializationException", 400, "MalformedQueryString", 400),
        SQS: _Spelling("SerializationException", 400, "InvalidParameterValue"),
    },
    "too_large": _same("RequestEntityTooLarge", 413, "RequestEntityTooLarge", 413),
    "internal": _same("InternalFailure", 500, "InternalFailure", 500),
}


def common(kind: str, dialect: str, message: str) -> AwsError:
    spelling = _COMMON[kind][dialect]
    return AwsError(
        spelling.code,
        message,
        status=spelling.status,
        query_code=spelling.query_code,
        sender=spelling.status < 500,
    )
