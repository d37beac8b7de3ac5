"""Helpers shared by test modules (a unique module name: `conftest` is taken by several directories)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = ROOT / "examples" / "deskterm.toml"


def run_cli(*args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "deskterm.cli", *args], input=input, capture_output=True,
                          text=True, env=full_env, timeout=120)
