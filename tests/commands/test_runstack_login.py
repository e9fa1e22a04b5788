"""runstack's login lines: the generated password on a terminal, never in a log."""

from __future__ import annotations

import io
import stat

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from flows.management.commands.runstack import Command

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def login_lines(tmp_path, monkeypatch, stdout: io.StringIO) -> list[str]:
    monkeypatch.setattr("sys.stdout", stdout)
    with override_settings(VAR_DIR=tmp_path):
        return Command()._ensure_admin()


def test_a_terminal_is_shown_the_generated_password(tmp_path, monkeypatch) -> None:
    lines = login_lines(tmp_path, monkeypatch, Terminal())
    password = (tmp_path / "admin_password").read_text().strip()
    assert stat.S_IMODE((tmp_path / "admin_password").stat().st_mode) == 0o600
    assert lines[0] == "Login:    admin"
    assert lines[1].startswith(f"Password: {password}  (generated")
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_a_log_is_pointed_at_the_private_file(tmp_path, monkeypatch) -> None:
    lines = login_lines(tmp_path, monkeypatch, io.StringIO())
    password = (tmp_path / "admin_password").read_text().strip()
    assert password not in "\n".join(lines)
    assert str(tmp_path / "admin_password") in lines[1]


def test_a_changed_password_is_forgotten(tmp_path, monkeypatch) -> None:
    login_lines(tmp_path, monkeypatch, Terminal())
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("my-own-password-1")
    admin.save()
    lines = login_lines(tmp_path, monkeypatch, Terminal())
    assert not (tmp_path / "admin_password").exists()
    assert lines[1] == (
        "Password: the one you set (reset it: .venv/bin/python manage.py changepassword admin)"
    )
