"""The export formats by name: what ``manage.py export`` and the topology page offer."""

from __future__ import annotations

from collections.abc import Callable

from flows.models import Topology


def _asyncapi(topology: Topology) -> str:
    from flows.formats.asyncapi import asyncapi_export

    return asyncapi_export(topology)


def _cloudformation(topology: Topology) -> str:
    from flows.formats.cloudformation.export import cfn_export

    return cfn_export(topology)


def _mermaid(topology: Topology) -> str:
    from flows.formats.mermaid import mermaid_export

    return mermaid_export(topology)


# name -> (exporter, file suffix, content type)
EXPORTERS: dict[str, tuple[Callable[[Topology], str], str, str]] = {
    "asyncapi": (_asyncapi, ".asyncapi.yaml", "application/yaml"),
    "cloudformation": (_cloudformation, ".cfn.yaml", "application/yaml"),
    "mermaid": (_mermaid, ".mmd", "text/plain"),
}


def export_text(topology: Topology, fmt: str) -> str:
    return EXPORTERS[fmt][0](topology)
