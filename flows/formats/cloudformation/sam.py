"""Expanding a SAM template to plain CloudFormation with AWS's own translator."""

from __future__ import annotations

import copy
from typing import Any

from flows.formats.cloudformation.decode import TemplateError
from flows.formats.cloudformation.intrinsics import REGION

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def is_sam(template: dict[str, Any]) -> bool:
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in transforms or any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::Serverless::")
        for r in (template.get("Resources") or {}).values()
    )


def sam_expand(template: dict[str, Any], params: dict[str, str], origin: str) -> dict[str, Any]:
    """The CloudFormation ``aws-sam-translator`` makes of ``template`` (offline)."""
    # Imported here: the translator is large, and only SAM templates need it.
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = copy.deepcopy(template)
    template.setdefault("Transform", SAM_TRANSFORM)
    # No credentials and no network: the region is given, managed policies are not looked up.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    try:
        return translator.translate(
            template,
            parameter_values=dict(params),
            passthrough_metadata=True,
            get_managed_policy_map=lambda: {},
        )
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause) for cause in exc.causes) or str(exc)
        raise TemplateError(f"{origin}: the SAM translator refused it: {causes}") from None
    except Exception as exc:  # the translator raises many kinds for bad input
        raise TemplateError(f"{origin}: the SAM translator failed: {exc}") from None
