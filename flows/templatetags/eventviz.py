"""Template filters for the pages' wording."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now" under a minute, else "3 minutes ago" (never "0 minutes ago")."""
    if value is None:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value)} ago"


@register.filter
def as_json(value: Any) -> str:
    """``value`` as JSON text a person can paste back (not Python's repr: no single quotes,
    ``true``/``null`` rather than ``True``/``None``). Autoescaping still applies."""
    return json.dumps(value, ensure_ascii=False)
