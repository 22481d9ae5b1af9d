"""The import contracts (pyproject.toml's [tool.importlinter]) hold, and they catch a
new upward import: the same check `make lint` runs, kept by the suite CI runs too."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SKIPPED = ("bench", "proof")  # outside the contracts


def lint_imports(folder):
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=folder,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_the_code(destination):
    """The packages' Python files and pyproject.toml, nothing else."""
    shutil.copy(ROOT / "pyproject.toml", destination)
    for package in (ROOT / "pagecache").parent.iterdir():
        if (package / "__init__.py").exists() and package.name not in (
            "bench",
            "proof",
        ):
            shutil.copytree(
                package,
                destination / package.name,
                ignore=lambda folder, names: [
                    name
                    for name in names
                    if not (name.endswith(".py") or (Path(folder) / name).is_dir())
                    or name == "__pycache__"
                ],
            )


def test_the_code_keeps_every_import_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_an_upward_import_or_a_circle_breaks_the_contracts(tmp_path):
    # given: the code with a catalogue module reaching up into the site's pages,
    # and the page cache importing an app
    copy_of_the_code(tmp_path)
    stock = tmp_path / "products" / "stock.py"
    stock.write_text("from home.models import shop_settings\n" + stock.read_text())
    clock = tmp_path / "pagecache" / "clock.py"
    clock.write_text("import wagtail\n" + clock.read_text())
    # and two modules of one package importing each other
    fulfilment = tmp_path / "checkout" / "fulfilment.py"
    fulfilment.write_text("from . import sessions\n" + fulfilment.read_text())

    # when: the contracts are checked
    result = lint_imports(tmp_path)

    # then: each is reported, with the import that broke it
    assert result.returncode == 1
    assert "Contracts: 1 kept, 3 broken." in result.stdout
    assert "products is not allowed to import home" in result.stdout
    assert "products.stock -> home.models" in result.stdout
    assert "pagecache.clock -> wagtail" in result.stdout
    assert "No cycles are allowed in checkout" in result.stdout
