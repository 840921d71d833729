"""The layout's rules, checked (docs/architecture.md, "Import rules"): no module-level import
cycle, no `import *` outside the settings, telephony imports no feature package, models import
no services, selectors and views, and no module named with a sub-domain prefix."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hotline", "scheduling", "api", "config")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _module_level_imports(name: str, path: Path) -> set[str]:
    """Modules of ours imported when `name` is imported (not inside functions, not only for
    type checking)."""
    tree = ast.parse(path.read_text())
    targets: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                # `from package import submodule` inside that package: only the submodule
                # (the package itself is already being imported).
                if not name.startswith(node.module + "."):
                    targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(getattr(node, "body", []))
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    ours = {t for t in targets if t in MODULES}
    # Importing a.b.c first imports its packages a and a.b (their __init__ runs), unless the
    # importer is inside that package: then the package is already being imported.
    for target in list(ours):
        parts = target.split(".")
        for i in range(1, len(parts)):
            package = ".".join(parts[:i])
            if package in MODULES and not name.startswith(package + "."):
                ours.add(package)
    ours.discard(name)
    return ours


GRAPH = {name: _module_level_imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            strongconnect(v)
    return found


def test_the_graph_is_read():
    assert "hotline.calls.services" in GRAPH["hotline.calls.webhooks"]
    assert "hotline.models" in GRAPH["scheduling.rules"]


def test_no_module_level_import_cycle():
    assert _cycles() == []


def test_no_star_imports_outside_the_settings():
    offenders = []
    for name, path in MODULES.items():
        if name == "config.test_settings":
            continue  # test settings extend the settings, the Django way
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                offenders.append(name)
    assert offenders == []


def test_telephony_imports_no_feature_package():
    for name, imports in GRAPH.items():
        if not name.startswith("hotline.telephony") or name == "hotline.telephony.urls":
            continue
        feature = {
            i
            for i in imports
            if i.startswith("hotline.")
            and not i.startswith(("hotline.telephony", "hotline.models"))
            and i not in {"hotline.busy", "hotline.phone", "hotline.links", "hotline.conflicts"}
        }
        assert not feature, f"{name} imports {sorted(feature)}"


def test_models_import_no_services_selectors_or_views():
    for name, imports in GRAPH.items():
        if ".models" not in name:
            continue
        bad = {i for i in imports if i.rsplit(".", 1)[-1] in {"services", "selectors", "views"}}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_no_module_named_with_a_sub_domain_prefix():
    prefixed = [
        str(path.relative_to(ROOT))
        for package in ("hotline", "scheduling")
        for path in (ROOT / package).glob("*.py")
        if "_" in path.stem
        and path.stem.split("_")[-1] in {"models", "views", "admin", "urls", "selectors"}
    ]
    assert prefixed == []
