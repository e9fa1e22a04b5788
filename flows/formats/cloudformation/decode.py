"""Reading a CloudFormation or SAM template (YAML with short tags, or JSON) within bounds.

The short-form tags (``!Ref``, ``!GetAtt``, ``!Sub`` ...) are turned into their long form
by cfn-lint's own constructor (``cfnlint.decode.cfn_yaml.multi_constructor``), plugged into
``yamldoc``'s loader, so the text first passes yamldoc's bounds: its size, and the size of
its expansion by aliases.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import yaml
from cfnlint.decode import cfn_yaml

from flows.formats import yamldoc

MAX_TEMPLATE_BYTES = 1024 * 1024  # CloudFormation's own limit for a template in S3


class TemplateError(yamldoc.DocumentError):
    """A template that cannot be read at all (nothing is imported)."""


# libyaml's composer when PyYAML has it: several times faster on a large template.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CfnLoader(_Base):  # type: ignore[valid-type,misc]
    """A safe loader that knows CloudFormation's short-form tags (cfn-lint's constructor)."""

    construct_getatt = cfn_yaml.NodeConstructor.construct_getatt


CfnLoader.add_multi_constructor("!", cfn_yaml.multi_constructor)


def template_read(text: str | bytes, origin: str = "<template>") -> yamldoc.Document:
    """The template as plain dicts, lists and scalars, with the line of each key path."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateError(f"{origin}: not UTF-8 text") from None
    try:
        doc = yamldoc.parse(
            text, origin, loader=CfnLoader, max_bytes=MAX_TEMPLATE_BYTES, error=TemplateError
        )
    except TemplateError:
        # JSON that YAML does not read (a tab in it, say) is still JSON.
        if not text.lstrip().startswith("{") or len(text.encode()) > MAX_TEMPLATE_BYTES:
            raise
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"{origin}: not valid JSON or YAML: {exc}") from None
        doc = yamldoc.Document(data=data, lines={}, origin=origin, error_cls=TemplateError)
    doc.data = plain(doc.data)
    if not isinstance(doc.data, dict):
        raise TemplateError(f"{origin}: a template is a mapping (with Resources)")
    resources = doc.data.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise TemplateError(f"{origin}: no Resources: this is not a CloudFormation template")
    return doc


def plain(value: Any) -> Any:
    """cfn-lint's marked nodes as plain Python; YAML dates as the text they were."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
