"""Pure-Python routing core: EventBridge event patterns and the rule index,
SNS filter policies and EventBridge input transformers.

No Django here: the simulation, the admin sandbox and the benchmarks all use it alone.
"""

from __future__ import annotations

from flows.routing.filter_policy import FilterPolicy, InvalidFilterPolicy
from flows.routing.index import IndexStats, MatchCounter, RuleIndex
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
    "IndexStats",
    "InputTransformer",
    "InvalidFilterPolicy",
    "InvalidPattern",
    "InvalidTransformer",
    "MatchCounter",
    "Mismatch",
    "RuleIndex",
    "TransformError",
    "TransformResult",
]
