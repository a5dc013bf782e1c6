"""The layering of architecture.md, checked: core is pure, heavy imports stay lazy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "traycreds"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"tomli"}  # tomli: tomllib's backport on 3.10
    for path in sorted((PACKAGE / "core").glob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top in allowed or name.startswith("traycreds.core"), \
                f"{path.name} imports {name}"


def test_only_the_tray_layer_imports_ui_libraries() -> None:
    ui = {"pystray", "tkinter", "PIL"}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tray" in path.relative_to(PACKAGE).parts[0]:
            continue
        tops = {name.split(".")[0] for name in imported_modules(path)}
        assert not tops & ui, f"{path} imports {tops & ui}"


def test_light_commands_do_not_import_boto3_or_keyring() -> None:
    code = ("import sys; from traycreds.cli.main import main; main(['config', 'path']); "
            "print(sorted(m for m in ('boto3', 'botocore', 'keyring', 'pystray') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"TRAYCREDS_NO_LOG_FILE": "1", "HOME": "/tmp"})
    assert out.stdout.splitlines()[-1] == "[]"
