"""ARNs and queue URLs, spelled with the caller's account and region.

Incoming ARNs are read by resource name only: one topology is one account, so the
account and region in an ARN the client sends back are not checked against anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flows.aws.dispatch import Call

QUEUE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class Arn:
    service: str
    region: str
    account: str
    resource: str


def parse(text: str) -> Arn | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5]:
        return None
    return Arn(service=parts[2], region=parts[3], account=parts[4], resource=parts[5])


def make(call: Call, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{call.region}:{call.account}:{resource}"


def queue_arn(call: Call, name: str) -> str:
    return make(call, "sqs", name)


def topic_arn(call: Call, name: str) -> str:
    return make(call, "sns", name)


def subscription_arn(call: Call, topic: str, pk: int) -> str:
    return make(call, "sns", f"{topic}:{pk}")


def bus_arn(call: Call, name: str) -> str:
    return make(call, "events", f"event-bus/{name}")


def rule_arn(call: Call, bus: str, name: str) -> str:
    return make(call, "events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")


def lambda_arn(call: Call, name: str) -> str:
    return make(call, "lambda", f"function:{name}")


def queue_url(call: Call, name: str) -> str:
    return f"{call.endpoint}/{call.account}/{name}"


def queue_name_from_url(url: str) -> str | None:
    """The queue name a queue URL names (the last path segment), whatever host it has."""
    path = urlsplit(url).path if "://" in url else url
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name if name and (QUEUE_NAME_RE.match(name.removesuffix(".fifo"))) else None


def name_from(arn: Arn, service: str) -> str | None:
    """The resource name of an ARN of ``service`` (``lambda``'s ``function:name``)."""
    if arn.service != service:
        return None
    if service == "lambda":
        kind, _, rest = arn.resource.partition(":")
        return rest.split(":", 1)[0] if kind == "function" and rest else None
    if service == "events":
        kind, _, rest = arn.resource.partition("/")
        return rest if kind == "event-bus" and rest else None
    return arn.resource if ":" not in arn.resource else None
