"""Pure-Python routing core: EventBridge event patterns and the rule index,
SNS filter policies and EventBridge input transformers.

No Django here: the simulation, the admin sandbox and the benchmarks all use it alone.
"""

from __future__ import annotations

from flows.routing.filter_policy import FilterPolicy, InvalidFilterPolicy
from flows.routing.index import RuleIndex
from flows.routing.patterns import MISSING, EventPattern, InvalidPattern, Mismatch
from flows.routing.transform import (
    InputTransformer,
    InvalidTransformer,
    TransformError,
    TransformResult,
)

__all__ = [
    "MISSING",
    "EventPattern",
    "FilterPolicy",
    "InputTransformer",
    "InvalidFilterPolicy",
    "InvalidPattern",
    "InvalidTransformer",
    "Mismatch",
    "RuleIndex",
    "TransformError",
    "TransformResult",
]
