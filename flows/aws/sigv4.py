"""AWS Signature Version 4 checked with botocore's own signer.

The signature is recomputed, not re-implemented: the incoming request is rebuilt as a
botocore ``AWSRequest`` and ``SigV4Auth`` computes the canonical request, the string to
sign and the signature for the credential scope the client named. Only two things are
ours: which headers were signed (the client's ``SignedHeaders``, not whatever a proxy
added since) and which moment was signed (the client's ``X-Amz-Date``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from hashlib import sha256

from botocore.auth import SIGV4_TIMESTAMP, UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)  # AWS refuses a request signed more than 15 min off

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/\s,]+)/(?P<date>\d{8})/(?P<region>[^/\s,]+)/"
    r"(?P<service>[^/\s,]+)/aws4_request\s*,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9\-;]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


class SignatureError(Exception):
    """Why a signature is refused: ``incomplete``, ``mismatch`` or ``expired``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Authorization:
    """What an ``Authorization: AWS4-HMAC-SHA256 ...`` header says."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> Authorization:
    match = _AUTH_RE.match(header.strip())
    if match is None:
        raise SignatureError(
            "incomplete",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
            f"parameters of {ALGORITHM}.",
        )
    return Authorization(
        access_key_id=match["key"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=tuple(match["headers"].split(";")),
        signature=match["signature"],
    )


class _Verifier(SigV4Auth):
    """SigV4Auth that signs exactly the headers the client listed."""

    def __init__(self, auth: Authorization, secret: str) -> None:
        super().__init__(Credentials(auth.access_key_id, secret), auth.service, auth.region)
        self._signed = auth.signed_headers

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self._signed:
            values = request.headers.get_all(name)
            if not values:
                raise SignatureError(
                    "incomplete", f"The header {name!r} is signed but not in the request."
                )
            for value in values:
                header_map[name] = value
        return header_map


def request_timestamp(headers: Mapping[str, str]) -> str:
    """The signed moment as ``YYYYMMDDTHHMMSSZ``, from X-Amz-Date or else Date."""
    amz_date = headers.get("X-Amz-Date")
    if amz_date:
        try:
            datetime.strptime(amz_date, SIGV4_TIMESTAMP)
        except ValueError:
            raise SignatureError("incomplete", f"Invalid X-Amz-Date {amz_date!r}.") from None
        return amz_date
    date = headers.get("Date")
    if date:
        try:
            return parsedate_to_datetime(date).astimezone(UTC).strftime(SIGV4_TIMESTAMP)
        except (TypeError, ValueError):
            pass
    raise SignatureError(
        "incomplete",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )


def check_time(timestamp: str, now: datetime) -> None:
    signed = datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    fmt = SIGV4_TIMESTAMP
    if signed < now - MAX_SKEW:
        raise SignatureError(
            "expired",
            f"Signature expired: {timestamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime(fmt)} ({now.strftime(fmt)} - 15 min.)",
        )
    if signed > now + MAX_SKEW:
        raise SignatureError(
            "expired",
            f"Signature not yet current: {timestamp} is still later than "
            f"{(now + MAX_SKEW).strftime(fmt)} ({now.strftime(fmt)} + 15 min.)",
        )


def verify(
    *,
    auth: Authorization,
    secret: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Raise ``SignatureError`` unless ``auth.signature`` signs this request with ``secret``.

    ``url`` is the request URL as the client sent it (path still percent-encoded).
    """
    timestamp = request_timestamp(headers)
    if timestamp[:8] != auth.date:
        raise SignatureError(
            "mismatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
            f"date from HTTP: '{auth.date}' != '{timestamp[:8]}', from '{timestamp}'.",
        )
    check_time(timestamp, now)
    declared = headers.get("X-Amz-Content-SHA256")
    if declared and declared != UNSIGNED_PAYLOAD and declared != sha256(body).hexdigest():
        raise SignatureError(
            "mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = timestamp
    signer = _Verifier(auth, secret)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError(
            "mismatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.",
        )
