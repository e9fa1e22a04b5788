"""Template filters for showing JSON values (patterns, filter policies) as JSON."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """``value`` as JSON text a person can paste back (not Python's repr: no single quotes,
    ``true``/``null`` rather than ``True``/``None``). Autoescaping still applies."""
    return json.dumps(value, ensure_ascii=False)
