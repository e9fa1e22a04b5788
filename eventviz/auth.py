"""The login lockout backend: django-axes for every login that comes with a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for logins over HTTP only.

    Axes refuses ``authenticate()`` without a request. Only code on this machine calls
    it that way (a management command, the shell, the test client's ``login()``), never
    a visitor: the admin login form always passes its request, so it is always counted
    and locked out.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
