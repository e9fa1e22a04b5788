"""NextToken paging over a sorted list: the token is the offset, opaque to the client."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def page(
    items: Sequence[T], token: str | None, limit: int, *, invalid: Callable[[], Exception]
) -> tuple[list[T], str | None]:
    """One page of ``items`` after ``token``, and the token of the next page (or None)."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:"))
        except (ValueError, UnicodeDecodeError):
            raise invalid() from None
        if start < 0:
            raise invalid()
    end = start + limit
    following = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else None
    return list(items[start:end]), following
