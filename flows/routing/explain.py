"""Why an event (or an SNS message) did not match: one :class:`Mismatch` per failed clause.

EventBridge event patterns and SNS filter policies compile to the same sub-rules and fail
for the same reasons, so one function explains both; a :class:`Wording` says how each
service phrases it ("the pattern expects" / "the policy expects", the JSON style of the
clauses, the order failures are listed in, ...). The texts are part of the product (the
admin sandbox shows them, tests pin them byte for byte): change them only on purpose.

Re-exported by :mod:`flows.routing.patterns` (``MISSING``, ``Mismatch``), which owns the
EventBridge wording; :mod:`flows.routing.filter_policy` owns the SNS ones.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flows.routing.fields import Fields

if TYPE_CHECKING:
    from flows.routing.patterns import Step, SubRule

__all__ = ["MISSING", "Mismatch", "Wording", "explain_subrules"]


class _Missing:
    """The value of a field an event does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Mismatch:
    """One reason an event does not match a pattern.

    ``expected`` is the pattern clause (the list written for the field, or for an
    array-consistency failure a ``{path: clause}`` mapping); ``actual`` is the event's
    value (a list when the field has several values) or :data:`MISSING`. ``branch`` is
    the index of the ``$or`` alternative the mismatch belongs to, when there are several.
    """

    path: str
    expected: Any
    actual: Any
    message: str
    branch: int | None = None

    def as_dict(self) -> dict[str, Any]:
        missing = self.actual is MISSING
        return {
            "path": self.path,
            "expected": copy.deepcopy(self.expected),
            "actual": None if missing else copy.deepcopy(self.actual),
            "missing": missing,
            "message": self.message,
            "branch": self.branch,
        }


def _same(path: str) -> str:
    return path


@dataclass(frozen=True, slots=True)
class Wording:
    """How one service words its explanations.

    ``rule`` names what the user wrote ("pattern", "policy"); ``field`` what a path names
    ("field", "property"); ``missing`` comes before "<path> is missing" (e.g.
    "attribute "); ``dumps`` renders clauses and values; ``display`` turns a compiled path
    back into the one the user wrote. ``order`` is the sort key failures are listed by
    (None: the sub-rule's step order). With ``locate_consistency``, an array-consistency
    failure names the fields' common path and their values; otherwise ``""`` and
    :data:`MISSING`. ``hint``, when set, may add a remark after "which does not match ...".
    """

    rule: str
    field: str
    dumps: Callable[[Any], str]
    missing: str = ""
    display: Callable[[str], str] = _same
    order: Callable[[str], Any] | None = None
    locate_consistency: bool = False
    hint: Callable[[Step, list[Any]], str] | None = None


def explain_subrules(
    subrules: tuple[SubRule, ...], fields: Fields, wording: Wording
) -> list[Mismatch]:
    """The failed clauses of every sub-rule (the caller checked that none matches),
    tagged with the sub-rule's number when there are several (``$or`` alternatives)."""
    several = len(subrules) > 1
    found: list[Mismatch] = []
    for number, sub in enumerate(subrules):
        found.extend(_explain_subrule(sub, fields, number if several else None, wording))
    return found


def _explain_subrule(
    steps: SubRule, fields: Fields, branch: int | None, wording: Wording
) -> list[Mismatch]:
    values = fields.values
    dumps = wording.dumps
    order = wording.order
    listed: Iterable[Step] = steps if order is None else sorted(steps, key=lambda s: order(s.path))
    found: list[Mismatch] = []
    for step in listed:
        path = wording.display(step.path)
        clause = dumps(step.clause)
        present = values.get(step.path)
        if present is None:
            if not step.absent_ok:
                found.append(
                    Mismatch(
                        path,
                        copy.deepcopy(step.clause),
                        MISSING,
                        f"{wording.missing}{path} is missing; the {wording.rule} expects {clause}",
                        branch,
                    )
                )
            continue
        test = step.test
        if test is not None and any(test(v) for v in present):
            continue
        actual = present[0] if len(present) == 1 else list(present)
        shown = dumps(actual)
        if test is None:
            message = f"{path} is {shown} but the {wording.rule} requires it to be absent"
        else:
            hint = wording.hint(step, present) if wording.hint is not None else ""
            message = f"{path} is {shown}, which does not match {clause}{hint}"
        found.append(
            Mismatch(path, copy.deepcopy(step.clause), copy.deepcopy(actual), message, branch)
        )
    if not found:
        # Each clause holds somewhere, just not within one element of an array of objects.
        where: str = ""
        actual_values: Any = MISSING
        if wording.locate_consistency:
            paths = [step.path for step in steps]
            if order is not None:
                paths.sort(key=order)
            where = _common_prefix(paths)
            actual_values = {p: copy.deepcopy(values[p]) for p in paths if p in values}
        found.append(
            Mismatch(
                where,
                {wording.display(step.path): copy.deepcopy(step.clause) for step in steps},
                actual_values,
                f"every {wording.field} matches on its own, but not all within the same "
                "element of an array of objects",
                branch,
            )
        )
    return found


def _common_prefix(paths: list[str]) -> str:
    split = [p.split(".") for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if any(part != parts[0] for part in parts):
            break
        common.append(parts[0])
    return ".".join(common)
