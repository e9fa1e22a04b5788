"""The package's seam: only ``flows.coupling.store`` may need Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ("model", "script", "paths", "phrases", "judges")


def test_every_module_but_the_store_imports_with_django_absent() -> None:
    # ``sys.modules[name] = None`` makes any later ``import django...`` raise ImportError,
    # so one stray import of Django or flows.models anywhere below fails this test.
    modules = ", ".join(["flows.coupling", *(f"flows.coupling.{m}" for m in PURE)])
    code = (
        "import sys\n"
        "sys.modules['django'] = None\n"
        f"import {modules}\n"
        "assert 'flows.models' not in sys.modules\n"
        "assert 'flows.coupling.store' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_same_check_catches_the_store_which_reads_the_database() -> None:
    # The control: without it, the test above would pass if the check caught nothing.
    code = "import sys\nsys.modules['django'] = None\nimport flows.coupling.store\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "django" in result.stderr
