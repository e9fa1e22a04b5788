"""The one ``/aws`` endpoint: find the service and operation, authenticate, dispatch, answer.

This stays on the event loop except for two short hops to a worker thread (the key
lookup, then the operation's database work in one transaction), so a slow client or a
waiting handler never holds a thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from flows.aws import (  # noqa: F401  (the handlers register on import)
    credentials,
    dispatch,
    errors,
    events,
    protocol,
    sigv4,
    sns,
    sqs,
    sqs_messages,
)
from flows.aws.dispatch import Call
from flows.aws.errors import AwsError
from flows.aws.models import ApiKey
from flows.models import Topology

log = logging.getLogger(__name__)

# The largest body read: an SQS message may be 1 MiB, plus its envelope and attributes.
MAX_BODY = 1024 * 1024 + 64 * 1024
DEFAULT_REGION = "us-east-1"


@dataclass
class Target:
    """Which service and operation a request is for, and in which dialect to answer."""

    service: str
    operation: str
    dialect: str
    json: bool
    form: dict[str, str] | None = None


@dataclass
class Identity:
    topology: Topology
    key: ApiKey | None
    account: str
    region: str


@csrf_exempt
async def endpoint(request: HttpRequest) -> HttpResponse:
    rid = protocol.request_id()
    dialect = errors.EVENTS if request.headers.get("X-Amz-Target") else errors.SNS
    try:
        body = _body(request, dialect)
        target = _target(request, body)
        dialect = target.dialect
        identity = _authenticate_cached(request, body, dialect) or await sync_to_async(
            _authenticate
        )(request, body, dialect)
        op = dispatch.find(target.service, target.operation)
        model = protocol.operation_model(target.service, target.operation)
        if op is None or model is None:
            raise _unknown_operation(target)
        if op.write and identity.key is not None and identity.key.read_only:
            raise errors.common(
                "access_denied",
                dialect,
                f"User: {identity.key.access_key_id} is not authorized to perform: "
                f"{target.service}:{target.operation} (the key is read-only)",
            )
        params = _params(target, body, model)
        call = Call(
            topology=identity.topology,
            key=identity.key,
            account=identity.account,
            region=identity.region,
            host=request.get_host(),
            scheme=request.scheme or "http",
            service=target.service,
            operation=target.operation,
            user_agent=request.headers.get("User-Agent", ""),
        )
        if op.is_async:
            output = await op.handler(call, params)
        else:
            output = await sync_to_async(_run_in_transaction)(op, call, params)
        return _answer(target, model, output or {}, rid)
    except AwsError as exc:
        return _error(exc, dialect, rid)
    except Exception:
        log.exception("AWS endpoint: unexpected failure")
        return _error(errors.common("internal", dialect, "Internal failure."), dialect, rid)


def _run_in_transaction(op: dispatch.Operation, call: Call, params: dict[str, Any]) -> Any:
    with transaction.atomic():
        return op.handler(call, params)


def _body(request: HttpRequest, dialect: str) -> bytes:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        raise errors.common("too_large", dialect, f"Request body larger than {MAX_BODY} bytes.")
    body = request.body
    if len(body) > MAX_BODY:
        raise errors.common("too_large", dialect, f"Request body larger than {MAX_BODY} bytes.")
    return body


def _target(request: HttpRequest, body: bytes) -> Target:
    amz_target = request.headers.get("X-Amz-Target")
    if amz_target:
        prefix, _, name = amz_target.partition(".")
        service = protocol.TARGET_PREFIXES.get(prefix)
        if service is None or not name:
            raise errors.common(
                "unknown_operation", errors.EVENTS, f"Unknown target {amz_target!r}."
            )
        return Target(service, name, errors.EVENTS if service == "events" else errors.SQS, True)
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise errors.common("malformed", errors.SNS, "The request body is not UTF-8.") from None
    form = dict(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True))
    form.update(parse_qsl(text, keep_blank_values=True))
    version = form.get("Version", "")
    service = protocol.QUERY_VERSIONS.get(version) or _scope_service(request) or "sns"
    dialect = errors.SNS if service == "sns" else errors.SQS_QUERY
    action = form.get("Action")
    if not action:
        raise errors.common(
            "missing_parameter", dialect, "The request must contain the parameter Action."
        )
    return Target(service, action, dialect, False, form)


def _scope_service(request: HttpRequest) -> str | None:
    try:
        auth = sigv4.parse_authorization(request.headers.get("Authorization", ""))
    except sigv4.SignatureError:
        return None
    return auth.service if auth.service in ("sns", "sqs") else None


def _unknown_operation(target: Target) -> AwsError:
    if target.json:
        return errors.common("unknown_operation", target.dialect, "")
    return errors.common(
        "unknown_operation",
        target.dialect,
        f"Could not find operation {target.operation} for "
        f"version {protocol.service_model(target.service).api_version}"
        if target.service == "sns"
        else f"The action {target.operation} is not valid for this endpoint.",
    )


def _params(target: Target, body: bytes, model: Any) -> dict[str, Any]:
    if target.json:
        params = protocol.parse_json_params(body, target.dialect)
    else:
        try:
            params = protocol.parse_query_params(
                target.form or {}, model.input_shape, sqs_names=target.service == "sqs"
            )
        except protocol.QueryValueError as exc:
            raise errors.common("invalid_parameter", target.dialect, str(exc)) from None
    problems = protocol.validation_problems(model.input_shape, params)
    if problems:
        missing = all("must not be null" in p for p in problems)
        if target.dialect in (errors.SNS, errors.SQS_QUERY, errors.SQS) and missing:
            first = problems[0].split("'")[1]
            message = f"The request must contain the parameter {first[:1].upper() + first[1:]}."
        else:
            message = (
                f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} "
                f"detected: " + "; ".join(problems)
            )
        raise errors.common(
            "missing_parameter" if missing else "invalid_parameter", target.dialect, message
        )
    return params


# --- authentication -----------------------------------------------------------------------


def _authenticate(request: HttpRequest, body: bytes, dialect: str) -> Identity:
    header = request.headers.get("Authorization")
    if not header:
        slug = getattr(settings, "EVENTVIZ_AWS_ANONYMOUS_TOPOLOGY", "")
        topology = Topology.objects.filter(slug=slug).first() if slug else None
        if topology is not None:
            return Identity(
                topology, None, credentials.default_account_id(topology), DEFAULT_REGION
            )
        raise errors.common("missing_token", dialect, "Request is missing Authentication Token")
    try:
        auth = sigv4.parse_authorization(header)
    except sigv4.SignatureError as exc:
        raise errors.common("incomplete_signature", dialect, exc.message) from None
    key = credentials.apikey_active(auth.access_key_id)
    if key is None:
        raise errors.common(
            "unknown_key", dialect, "The security token included in the request is invalid."
        )
    secret = credentials.decrypt_secret(key.secret_encrypted)
    try:
        if secret is None:
            raise sigv4.SignatureError(
                "mismatch",
                "The stored secret cannot be read (was SECRET_KEY changed?): issue a new key.",
            )
        sigv4.verify(
            auth=auth,
            secret=secret,
            method=request.method or "POST",
            url=_signed_url(request),
            headers=request.headers,
            body=body,
            now=datetime.now(UTC),
        )
    except sigv4.SignatureError as exc:
        kind = "incomplete_signature" if exc.kind == "incomplete" else "bad_signature"
        raise errors.common(kind, dialect, exc.message) from None
    credentials.apikey_mark_used(key=key)
    _KEYS[key.access_key_id] = (key, secret, time.monotonic() + KEY_CACHE_S)
    return Identity(key.topology, key, key.account_id, auth.region)


# A key looked up recently is checked on the event loop, without a thread or a query: the
# signature check is CPU only. A revoked key is refused within KEY_CACHE_S.
KEY_CACHE_S = 2.0
_KEYS: dict[str, tuple[ApiKey, str, float]] = {}


def _authenticate_cached(request: HttpRequest, body: bytes, dialect: str) -> Identity | None:
    header = request.headers.get("Authorization")
    if not header:
        return None
    try:
        auth = sigv4.parse_authorization(header)
    except sigv4.SignatureError:
        return None
    cached = _KEYS.get(auth.access_key_id)
    if cached is None or cached[2] < time.monotonic():
        return None
    key, secret, _until = cached
    if key.last_used_at is None or timezone.now() - key.last_used_at >= (
        credentials.LAST_USED_RESOLUTION
    ):
        return None  # the slow path records the use
    try:
        sigv4.verify(
            auth=auth,
            secret=secret,
            method=request.method or "POST",
            url=_signed_url(request),
            headers=request.headers,
            body=body,
            now=datetime.now(UTC),
        )
    except sigv4.SignatureError as exc:
        kind = "incomplete_signature" if exc.kind == "incomplete" else "bad_signature"
        raise errors.common(kind, dialect, exc.message) from None
    return Identity(key.topology, key, key.account_id, auth.region)


def _signed_url(request: HttpRequest) -> str:
    """The URL as the client signed it: the raw (still percent-encoded) path and query."""
    scope = getattr(request, "scope", None) or {}
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(request.path, safe="/~")
    query = request.META.get("QUERY_STRING", "")
    host = request.headers.get("Host", "localhost")
    return f"{request.scheme or 'http'}://{host}{path}" + (f"?{query}" if query else "")


# --- answers --------------------------------------------------------------------------------


def _answer(target: Target, model: Any, output: dict[str, Any], rid: str) -> HttpResponse:
    if target.json:
        response = HttpResponse(
            protocol.json_answer(output), content_type=protocol.JSON_CONTENT_TYPES[target.service]
        )
    else:
        response = HttpResponse(protocol.query_answer(model, output, rid), content_type="text/xml")
    response["x-amzn-RequestId"] = rid
    return response


def _error(error: AwsError, dialect: str, rid: str) -> HttpResponse:
    if dialect in (errors.EVENTS, errors.SQS):
        service = "events" if dialect == errors.EVENTS else "sqs"
        response = HttpResponse(
            protocol.json_error(error),
            status=error.status,
            content_type=protocol.JSON_CONTENT_TYPES[service],
        )
        if dialect == errors.SQS:
            response["x-amzn-query-error"] = (
                f"{error.query_code};{'Sender' if error.sender else 'Receiver'}"
            )
    else:
        namespace = protocol.namespace_of("sns" if dialect == errors.SNS else "sqs")
        response = HttpResponse(
            protocol.query_error(error, namespace, rid),
            status=error.status,
            content_type="text/xml",
        )
    response["x-amzn-RequestId"] = rid
    return response
