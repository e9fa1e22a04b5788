"""AsyncAPI documents: import 2.x and 3.0, export 3.0 (validated against the official schema).

``asyncapi_import`` reads a document within yamldoc's bounds, resolves its ``$ref``s
(within the document only), maps channels with SQS/SNS bindings, operations, messages
and the ``x-eventviz-...`` extensions, and applies the result by slug
(``flows.formats.apply``); ``asyncapi_export`` writes a document that
``asyncapi_problems`` finds valid and ``asyncapi_import`` reads back to the same topology.
"""

from flows.formats.asyncapi.export import asyncapi_document, asyncapi_export
from flows.formats.asyncapi.importer import MAX_DOCUMENT_BYTES, AsyncAPIError, asyncapi_import
from flows.formats.asyncapi.validate import asyncapi_problems

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "AsyncAPIError",
    "asyncapi_document",
    "asyncapi_export",
    "asyncapi_import",
    "asyncapi_problems",
]
