"""The websocket Origin check (eventviz/origins.py) and the ALLOWED_HOSTS='*' guard."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from eventviz.asgi import application
from eventviz.origins import origin_allowed, parse_origin
from flows.formats.scenario import scenario_load_file

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["127.0.0.1", "localhost", "[::1]"]


def scope(origin: str | None, host: str = "localhost:8000", scheme: str = "ws") -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


def allowed(origin: str | None, **kwargs) -> bool:
    listed = kwargs.pop("listed", ["http://localhost:8000"])
    hosts = kwargs.pop("hosts", HOSTS)
    return origin_allowed(scope(origin, **kwargs), allowed_hosts=hosts, allowed=listed)


def handshake(origin: str, host: str) -> bool:
    async def go() -> bool:
        communicator = WebsocketCommunicator(
            application,
            "/ws/topologies/shop/",
            headers=[(b"origin", origin.encode()), (b"host", host.encode())],
        )
        ok, _ = await communicator.connect()
        await communicator.disconnect()
        return ok

    return asyncio.run(go())


def test_parse_origin_fills_in_the_default_port() -> None:
    assert parse_origin("http://LocalHost") == ("http", "localhost", 80)
    assert parse_origin("https://x.example:8443") == ("https", "x.example", 8443)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    assert parse_origin("null") is None
    assert parse_origin("ftp://x.example") is None
    assert parse_origin("http://x.example/path") is None


def test_same_host_on_another_port_is_refused() -> None:
    assert allowed("http://localhost:8000")
    assert not allowed("http://localhost:9999", listed=[])
    assert not allowed("http://localhost:9999")


def test_scheme_must_match_too() -> None:
    assert not allowed("https://localhost:8000", listed=[])
    assert allowed("https://localhost:8000", scheme="wss", listed=[])


def test_the_servers_own_origin_needs_an_allowed_host() -> None:
    assert allowed("http://127.0.0.1:8123", host="127.0.0.1:8123", listed=[])
    assert not allowed("http://evil.example:8000", host="evil.example:8000", listed=[])


def test_missing_or_null_origin_is_refused() -> None:
    assert not allowed(None)
    assert not allowed("null")


def test_listed_origins_match_exactly_and_subdomains_only_when_asked() -> None:
    listed = ["https://eventviz.example.com", "https://*.corp.example"]
    assert allowed("https://eventviz.example.com", listed=listed)
    assert allowed("https://eventviz.example.com:443", listed=listed)
    assert not allowed("https://eventviz.example.com:8443", listed=listed)
    assert not allowed("http://eventviz.example.com", listed=listed)
    assert allowed("https://dash.corp.example", listed=listed)
    assert not allowed("https://corp.example.evil", listed=listed)


def test_a_wildcard_allowed_host_does_not_let_other_sites_in() -> None:
    assert not allowed("http://evil.example", hosts=["*"], listed=[])


@pytest.fixture
def shop(transactional_db: None) -> None:
    scenario_load_file("shop")


def test_the_asgi_app_refuses_an_origin_on_another_port(shop: None) -> None:
    assert handshake("http://localhost:8000", "localhost:8000") is True
    assert handshake("http://localhost:9999", "localhost:8000") is False


def test_the_asgi_app_refuses_a_foreign_origin_even_with_allowed_hosts_star(shop: None) -> None:
    with override_settings(ALLOWED_HOSTS=["*"]):
        assert handshake("http://localhost:8000", "localhost:8000") is True
        assert handshake("http://evil.example", "localhost:8000") is False


def settings_import(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eventviz.settings",
        "EVENTVIZ_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_allowed_hosts_star_is_refused_with_debug_off(tmp_path: Path) -> None:
    result = settings_import(tmp_path, ALLOWED_HOSTS="*", DEBUG="0")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS='*' is refused" in result.stderr


def test_allowed_hosts_star_warns_loudly_with_debug_on(tmp_path: Path) -> None:
    result = settings_import(tmp_path, ALLOWED_HOSTS="*", DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert "WARNING: ALLOWED_HOSTS='*'" in result.stderr


def test_a_malformed_allowed_origin_stops_the_start(tmp_path: Path) -> None:
    result = settings_import(tmp_path, ALLOWED_ORIGINS="localhost:8000")
    assert result.returncode != 0
    assert "ALLOWED_ORIGINS: 'localhost:8000' is not an origin" in result.stderr
