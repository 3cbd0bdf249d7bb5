"""The layers hold: `lint-imports` checks the contracts in .importlinter (core imports no domain,
records does not import scheduling, accounts does not import records, ...), and breaking one fails."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    assert LINT_IMPORTS.exists(), "import-linter is missing: tests/requirements.txt pins it"
    # --no-cache: nothing written into the checkout. It analyses the `app` package found from cwd.
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module,added,broken", [
    ("app/core/db.py", "from app.accounts import models", "app.core is not allowed to import app.accounts"),
    ("app/realtime/views.py", "from app.scheduling import channels",
     "app.realtime is not allowed to import app.scheduling"),
    ("app/accounts/services.py", "import app.records.services", "app.accounts is not allowed to import app.records"),
    # a lazy import inside a function counts as much as one at the top
    ("app/records/access.py", "def _f():\n    from app.scheduling.models import Appointment",
     "app.records is not allowed to import app.scheduling"),
], ids=["core-to-domain", "realtime-to-domain", "accounts-to-records", "records-to-scheduling"])
def test_a_forbidden_import_breaks_the_contracts(tmp_path, module, added, broken):
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    with open(tmp_path / module, "a") as source:
        source.write(f"\n\n{added}\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
    assert f"{module[:-3].replace('/', '.')} -> " in result.stdout, result.stdout
