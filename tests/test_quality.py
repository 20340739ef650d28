"""The project's own checks: lint, types, and documentation that cannot drift from the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from citewire.cli import cli

REPO = Path(__file__).resolve().parent.parent


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is a dev dependency")
def test_ruff_clean() -> None:
    done = run("ruff", "check", "src", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_clean() -> None:
    done = run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_command_and_option_is_documented() -> None:
    readme = (REPO / "README.md").read_text()
    for name, command in cli.commands.items():  # type: ignore[attr-defined]
        assert f"citewire {name}" in readme, f"README does not document `citewire {name}`"
        for param in command.params:
            if getattr(param, "hidden", False) or param.name == "home":
                continue
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in readme, f"README does not document {name} {opt}"
