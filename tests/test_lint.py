"""The code base stays ruff-clean and mypy-clean (CI runs this with the rest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_clean() -> None:
    done = run(str(BIN / "ruff"), "check", "xseqd", "tests", "bench", "examples")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_clean() -> None:
    done = run(str(BIN / "mypy"), "xseqd")
    assert done.returncode == 0, done.stdout + done.stderr
