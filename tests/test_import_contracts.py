"""The import contracts in pyproject.toml hold, and they bite.

`lint-imports` (import-linter) checks the app order and the layers inside
orders; a new back-edge makes this test (and `make lint`) fail. The second test
copies the code, adds one back-edge of each kind, and sees the contract it
breaks reported as broken, so the contracts are not vacuous."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bench", "analytics", "orders", "marketing", "catalog", "users", "kameng")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "500"},  # one line per contract
        capture_output=True,
        text=True,
        timeout=120,
    )


def verdicts(report: str) -> dict[str, str]:
    """Contract name → KEPT or BROKEN, from the report's summary lines."""
    found = {}
    for line in report.splitlines():
        for verdict in ("KEPT", "BROKEN"):
            if f" {verdict}" in line:
                found[line.split(f" {verdict}")[0].strip()] = verdict
    return found


def test_the_code_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = verdicts(result.stdout)
    assert len(kept) >= 3 and set(kept.values()) == {"KEPT"}, result.stdout


@pytest.fixture
def code_copy(tmp_path) -> Path:
    """The packages and pyproject.toml, copied where a test may break them."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "migrations"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "back_edge", "contract"),
    [
        # An app importing one above it.
        ("catalog/exceptions.py", "import orders.models", "Apps depend downwards"),
        ("users/models.py", "import catalog.models", "Apps depend downwards"),
        # The bottom of orders importing a layer above it.
        ("orders/transitions.py", "import orders.checkout", "Inside orders:"),
        ("orders/refunds.py", "import orders.fulfilment", "Inside orders:"),
        # Domain code importing the tasks that call it.
        ("orders/fulfilment.py", "import orders.tasks", "Inside orders:"),
        ("orders/checkout.py", "import orders.payments.services", "Inside orders:"),
        # Top-ups reaching up into the payment services again.
        (
            "orders/payments/topups.py",
            "import orders.payments.services",
            "Inside orders.payments",
        ),
        # The fake gateway knowing our side.
        (
            "orders/payments/sandbox_remote.py",
            "import orders.payments.sandbox",
            "Inside orders.payments",
        ),
    ],
)
def test_a_back_edge_breaks_its_contract(code_copy, module, back_edge, contract):
    path = code_copy / module
    path.write_text(path.read_text() + f"\n{back_edge}  # a back-edge\n")
    result = lint_imports(code_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [
        name for name, verdict in verdicts(result.stdout).items() if verdict == "BROKEN"
    ]
    assert len(broken) == 1 and broken[0].startswith(contract), result.stdout
    importer = module.removesuffix(".py").replace("/", ".")
    target = back_edge.split()[-1]
    assert f"{importer} -> {target}" in result.stdout
