"""CloudFormation and SAM templates: import (with SAM expansion) and export.

``cfn_import`` reads a template within yamldoc's bounds, expands SAM with AWS's
translator, resolves intrinsic functions, maps what EventViz models and infers producers
from IAM permissions; ``cfn_export`` writes a template cfn-lint accepts and ``cfn_import``
reads back to the same topology.
"""

from flows.formats.cloudformation.decode import MAX_TEMPLATE_BYTES, TemplateError
from flows.formats.cloudformation.importer import cfn_import

__all__ = ["MAX_TEMPLATE_BYTES", "TemplateError", "cfn_import"]
