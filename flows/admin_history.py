"""The admin's History pages: one readable diff per version, with who, when and why.

Values are shown as a person would type them back: JSON indented with double quotes
(never a Python repr), related rows by name. One column of changes, wrapped to the
window, instead of django-simple-history's two (one per representation).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from simple_history.admin import SimpleHistoryAdmin

# Kept in history, never worth a line of the diff: bookkeeping, or shown in its own column.
QUIET_FIELDS = {"id", "updated_at", "created_at", "version"}


@dataclass
class FieldChange:
    """One field's change: the diff lines, each ``(mark, text)`` with mark "-", "+" or " "."""

    name: str
    label: str
    lines: list[tuple[str, str]] = field(default_factory=list)


def compact_json(value: Any, indent: int = 0, width: int = 72) -> str:
    """JSON a person can paste back: indented by two, but what fits on a line stays on
    it, and so does a list of plain values (``["eu-", "uk-"]`` is one line, not four)."""
    flat = json.dumps(value, ensure_ascii=False)
    if indent + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    if isinstance(value, list) and not any(isinstance(item, dict | list) for item in value):
        return flat  # a list of values stays one line; the page wraps it
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(key, ensure_ascii=False)}: "
            + compact_json(item, indent + 2, width).lstrip()
            for key, item in value.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [inner + compact_json(item, indent + 2, width).lstrip() for item in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def show(model_field: models.Field, record: Any) -> str:
    """A field's value in a historical record, as a person reads (and types) it."""
    if isinstance(model_field, models.ForeignKey):
        pk = getattr(record, model_field.attname)
        if pk is None:
            return "—"
        try:
            return str(getattr(record, model_field.name))
        except model_field.related_model.DoesNotExist:
            return f"#{pk} (deleted)"
    value = getattr(record, model_field.attname)
    if isinstance(model_field, models.JSONField):
        return compact_json(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def diff_lines(old: str | None, new: str) -> list[tuple[str, str]]:
    """A unified diff of two renderings, whole (every line, marked), no file headers."""
    if old is None:
        return [("+", line) for line in new.splitlines() or [""]]
    old_lines, new_lines = old.splitlines() or [""], new.splitlines() or [""]
    lines: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=10_000):
        if line.startswith(("---", "+++", "@@")):
            continue
        lines.append((line[0], line[1:]))
    return lines


def record_changes(record: Any, previous: Any | None) -> list[FieldChange]:
    """What changed from ``previous`` (None: the first record) to ``record``."""
    changes: list[FieldChange] = []
    for model_field in record.instance_type._meta.concrete_fields:
        if model_field.name in QUIET_FIELDS:
            continue
        new = show(model_field, record)
        old = None if previous is None else show(model_field, previous)
        if old == new or (previous is None and new in ("", "—", "null", "{}", "[]")):
            continue
        changes.append(
            FieldChange(model_field.name, str(model_field.verbose_name), diff_lines(old, new))
        )
    return changes


class HistoryAdmin(SimpleHistoryAdmin):
    """Who changed what and when, each version's changes as one diff, and revert.

    Reverting opens the old version in the ordinary change form, so it is validated
    like any edit before it reaches the running simulation.
    """

    object_history_template = "admin/flows/object_history.html"
    object_history_list_template = "admin/flows/object_history_list.html"

    def set_history_delta_changes(
        self, request: Any, historical_records: Any, foreign_keys_are_objs: bool = True
    ) -> None:
        records = list(historical_records)  # newest first
        for i, record in enumerate(records):
            previous = records[i + 1] if i + 1 < len(records) else record.prev_record
            record.field_changes = record_changes(record, previous)

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        obj._change_reason = "admin"
        super().save_model(request, obj, form, change)
