"""Coupling tests run shipped scenarios with the engine tests' manual-clock ``sim_of``."""

from __future__ import annotations

from tests.engine.conftest import Sim, sim_of  # noqa: F401
