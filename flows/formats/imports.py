"""The import formats by name, and telling them apart: what the upload form offers.

``import_document`` takes the text a person handed in and the format they chose (or
``auto``) and returns the importer's report; it never raises for a bad document, so the
form always has a report to show.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flows.formats.report import ImportReport

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # the larger of the importers' own limits
FORMATS = {
    "auto": "Detect from the file",
    "cloudformation": "CloudFormation / SAM template",
    "asyncapi": "AsyncAPI 2.x / 3.0 document",
}
# A top-level key of YAML (at a line's start) or of JSON (after a brace or a comma).
_ASYNCAPI = re.compile(r"""(^|[{,])\s*["']?asyncapi["']?\s*:""", re.M)
_CLOUDFORMATION = re.compile(
    r"""(^|[{,])\s*["']?(AWSTemplateFormatVersion|Resources|Transform)["']?\s*:""", re.M
)


def detect(text: str) -> str | None:
    """``asyncapi`` or ``cloudformation`` from the document's top-level keys, else None."""
    head = text[:200_000]
    if _ASYNCAPI.search(head):
        return "asyncapi"
    if _CLOUDFORMATION.search(head):
        return "cloudformation"
    return None


def _importer(fmt: str) -> Callable[..., ImportReport]:
    if fmt == "asyncapi":
        from flows.formats.asyncapi import asyncapi_import

        return asyncapi_import
    from flows.formats.cloudformation import cfn_import

    return cfn_import


def import_document(
    *, data: bytes, origin: str, fmt: str = "auto", slug: str | None = None
) -> ImportReport:
    """Import an uploaded document; the report says what became of it, or why nothing did."""
    if len(data) > MAX_UPLOAD_BYTES:
        report = ImportReport(origin=origin)
        report.error = f"the file is {len(data):,} bytes; at most {MAX_UPLOAD_BYTES:,} are read"
        return report
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report = ImportReport(origin=origin)
        report.error = "not UTF-8 text: a template or document is YAML or JSON"
        return report
    if fmt == "auto":
        found = detect(text)
        if found is None:
            report = ImportReport(origin=origin)
            report.error = (
                "neither a CloudFormation/SAM template (no Resources) nor an AsyncAPI "
                "document (no 'asyncapi' field); choose the format if it is one"
            )
            return report
        fmt = found
    if fmt not in FORMATS:
        report = ImportReport(origin=origin)
        report.error = f"unknown format {fmt!r}"
        return report
    return _importer(fmt)(text=text, origin=origin, slug=slug or None)
