"""The layering of docs/architecture.md, checked: the direction of every import, no cycles,
small modules, a pure core, heavy imports kept lazy. When one fails, docs/architecture.md says
where the code belongs."""

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


# --- the layers of docs/architecture.md ------------------------------------------------------
# Each module may import its own layer and those below it; the two front ends (cli, tray) never
# import each other. Imports inside functions and under TYPE_CHECKING count too: a lazy import
# is still a dependency. The launchers sit above everything: the console script, which hands
# the tray front end to the command line, and the programs run with ``python -m``.
LAYERS = {"core": 0, "adapters": 1, "app": 2, "channel": 3, "cli": 4, "tray": 4}
LAUNCHERS = {"traycreds.cli.entry", "traycreds.__main__", "traycreds.clipclear", "traycreds"}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_only(tree: ast.AST) -> set[ast.AST]:
    """The import nodes under ``if TYPE_CHECKING:``: types for mypy, not loaded at run time."""
    nodes: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                nodes |= set(ast.walk(child))
    return nodes


def dependencies(name: str, *, types: bool = True) -> set[str]:
    """The traycreds modules ``name`` imports, anywhere in it (``from pkg import mod`` is mod);
    with ``types=False`` not those imported for type checking only."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = set() if types else _type_only(tree)
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in MODULES and target != name}
    return found


def layer_of(name: str) -> str | None:
    if name in LAUNCHERS:
        return None
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_has_a_room() -> None:
    homeless = [name for name in MODULES if layer_of(name) is None and name not in LAUNCHERS]
    assert homeless == [], "modules outside the layers (see docs/architecture.md)"


def test_every_import_points_down_or_sideways_never_across_front_ends() -> None:
    wrong = []
    for name in MODULES:
        layer = layer_of(name)
        if layer is None:
            continue
        for target in dependencies(name):
            other = layer_of(target)
            if target == "traycreds":  # the package itself: __version__
                continue
            if other is None:
                wrong.append(f"{name} -> {target} (a launcher)")
            elif LAYERS[other] > LAYERS[layer] or (LAYERS[other] == LAYERS[layer]
                                                   and other != layer):
                wrong.append(f"{name} ({layer}) -> {target} ({other})")
    assert wrong == [], "imports against the layering of docs/architecture.md"


def test_no_import_cycles() -> None:
    """No cycle of run-time imports (a type named for mypy may point back)."""
    graph = {name: dependencies(name, types=False) for name in MODULES}
    # A package's __init__ that re-exports its modules is not a cycle with them.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_module_is_over_400_lines() -> None:
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these (docs/architecture.md says where things go): {long}"


def test_the_layering_check_sees_what_it_must() -> None:
    """The checks above must be able to fail: the graph sees a lazy import and a relative one."""
    assert "traycreds.channel.remote" in dependencies("traycreds.cli.providers")  # in a function
    assert "traycreds.tray.front" in dependencies("traycreds.cli.entry")
    assert layer_of("traycreds.tray.front") == "tray" and layer_of("traycreds.core") == "core"
    assert layer_of("traycreds") is None
