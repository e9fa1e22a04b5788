"""Validating a document against the official AsyncAPI 3.0.0 JSON Schema (vendored; no Django).

The schema file is the specification's own, bundled: every definition (the SQS and SNS
bindings too) sits under ``definitions`` with its ``$id``, so the validator resolves every
``$ref`` from that one file and never goes to the network (see ``schemas/README.md``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).parent / "schemas"
SPEC_VERSION = "3.0.0"


@cache
def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{SPEC_VERSION}.json").read_text(encoding="utf-8"))
    # Each bundled definition is a resource of its own, found by its $id.
    resources = [
        (uri, Resource.from_contents(body, default_specification=DRAFT7))
        for uri, body in schema.get("definitions", {}).items()
    ]
    registry = Registry().with_resources(resources)  # type: ignore[var-annotated]
    return jsonschema.Draft7Validator(schema, registry=registry)


def asyncapi_problems(document: Any, *, limit: int = 20) -> list[str]:
    """What makes ``document`` invalid AsyncAPI 3.0.0 (empty when it is valid).

    Each problem names the JSON path at fault, e.g. ``channels.orders.bindings.sqs: ...``.
    """
    out: list[str] = []
    for top in _validator().iter_errors(document):
        # A oneOf/anyOf failure: the branch that came closest says what is wrong.
        error = jsonschema.exceptions.best_match([top])
        path = ".".join(str(p) for p in error.absolute_path) or "(document)"
        out.append(f"{path}: {error.message[:300]}")
        if len(out) >= limit:
            break
    return out
