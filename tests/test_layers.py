"""The one-way rule (DESIGN.md "Where logic lives"): the import contracts in
pyproject.toml hold, checked by import-linter on the code as it is."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_runs_down_the_layers_and_the_sandbox_stands_apart():
    result = subprocess.run([Path(sys.executable).with_name("lint-imports"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
