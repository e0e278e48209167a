"""The layer rules of docs/architecture.md, enforced.

- `keeper.core` is pure: importing any of its modules in a fresh interpreter loads
  no AnchorPy, no solana-py RPC, no httpx, no websockets and no asyncio; statically
  it imports only the standard library, solders and `keeper.core`/`keeper.data`.
- `keeper.program` (AnchorPy) never imports the cluster I/O or the application;
  `keeper.cluster` never imports the application; nothing in the package imports
  the test doubles of `keeper.testing`, and they never import the production transport.
- Each third-party library has one home layer.
- The localnet imports from `keeper` only the names the layer packages declare in
  their `__all__`.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CORE = ("anchorpy", "anchorpy_core", "solana.rpc", "httpx", "websockets", "asyncio")


def _modules(package: str) -> list[str]:
    """Every module of the package, subpackages included."""
    folder = ROOT / package.replace(".", "/")
    names = []
    for path in folder.rglob("*.py"):
        parts = (*package.split("."), *path.relative_to(folder).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names)


def _imports(module: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(line, imported module, names) for every import statement, at any depth."""
    parts = module.split(".")
    path = ROOT.joinpath(*parts).with_suffix(".py")
    if not path.exists():
        path = ROOT.joinpath(*parts, "__init__.py")
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, ()) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module, tuple(a.name for a in node.names)))
    return out


def _root(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("module", _modules("keeper.core"))
def test_core_module_imports_nothing_of_the_shell(module: str) -> None:
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        f"bad = [m for m in {FORBIDDEN_IN_CORE!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = out.stdout.strip()
    assert not loaded, f"importing {module} loads {loaded}: the pure core must not"


@pytest.mark.parametrize("module", _modules("keeper.core"))
def test_core_module_imports_only_stdlib_solders_and_core(module: str) -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"solders", "__future__"}
    for line, name, _names in _imports(module):
        if _root(name) == "keeper":
            assert name.startswith(("keeper.core", "keeper.data")), (
                f"{module}:{line} imports {name}: the core may import only keeper.core/keeper.data"
            )
        else:
            assert _root(name) in allowed_roots and _root(name) != "asyncio", (
                f"{module}:{line} imports {name}: the core uses the stdlib and solders only"
            )


LAYER_MAY_NOT_IMPORT = {
    "keeper.program": ("keeper.cluster", "keeper.app", "keeper.testing"),
    "keeper.cluster": ("keeper.app", "keeper.testing"),
    "keeper.app": ("keeper.testing",),
    # the fakes stand in for the production transport, they never wrap it
    "keeper.testing": ("keeper.app", "keeper.cluster.solana_rpc"),
}


@pytest.mark.parametrize("layer", sorted(LAYER_MAY_NOT_IMPORT))
def test_lower_layers_do_not_import_upper_ones(layer: str) -> None:
    for module in _modules(layer):
        for line, name, _names in _imports(module):
            assert not name.startswith(LAYER_MAY_NOT_IMPORT[layer]), (
                f"{module}:{line} imports {name}, a layer above {layer}"
            )


#: library → the only keeper layer that may import it.
LIBRARY_HOME = {
    "anchorpy": "keeper.program",
    "anchorpy_core": "keeper.program",
    "solana": "keeper.cluster",
    "httpx": "keeper.cluster",
    "websockets": "keeper.cluster",
    "asyncio_throttle": "keeper.cluster",
}


def test_each_library_has_one_home_layer() -> None:
    for layer in ("keeper.core", "keeper.program", "keeper.cluster", "keeper.app", "keeper.testing"):
        for module in _modules(layer):
            for line, name, _names in _imports(module):
                home = LIBRARY_HOME.get(_root(name))
                assert home is None or home == layer, (
                    f"{module}:{line} imports {name}, which only {home} may import"
                )


def test_localnet_imports_only_the_declared_surface() -> None:
    surfaces = {
        pkg: set(importlib.import_module(pkg).__all__)
        for pkg in ("keeper.core", "keeper.program", "keeper.app")
    }
    checked = 0
    for module in _modules("localnet"):
        for line, name, names in _imports(module):
            if _root(name) != "keeper":
                continue
            assert name in surfaces, (
                f"{module}:{line} imports {name}; the localnet may import only "
                f"{sorted(surfaces)} (their __all__)"
            )
            undeclared = set(names) - surfaces[name]
            assert not undeclared, f"{module}:{line} uses {sorted(undeclared)}, not in {name}.__all__"
            checked += 1
    assert checked > 0


def test_surfaces_name_what_they_export() -> None:
    for pkg in ("keeper.core", "keeper.program", "keeper.app"):
        module = importlib.import_module(pkg)
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{pkg}.__all__ names {missing}, which it does not define"
