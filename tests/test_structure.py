"""The import structure of the project, read with `ast` (imports inside functions included): no cycle between
modules, no import of another module's `_private` name, and the rooms where docs/house-style.md puts them —
`corpus/` imports nothing else of ours, `ingest/` and `search/` never import each other, the wiring (`service/`)
and every other room below the doors import no door, and a door imports another door only where the command
line starts it."""
from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "ingest", "search", "service", "outreach", "api", "cli", "evaluation")
DOORS = frozenset({"api", "cli", "evaluation"})
# The command line launches the other doors: `serve` runs the app factory, `eval` and `bench` the measurements.
# Neither imports the command line back (that would be a cycle, which the first test catches anyway).
DOOR_TO_DOOR = frozenset({("cli", "api"), ("cli", "evaluation")})


@dataclass(frozen=True)
class Import:
    source: str    # the importing module
    target: str    # the module of ours it loads
    imported: str  # what it names, absolute: `from .two import _hidden` in alpha.one → alpha.two._hidden
    line: int

    def __str__(self) -> str:
        return f"{self.source} (line {self.line}) imports {self.imported}"


def find_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name → file, for every .py file of the given top-level packages under `root`."""
    found = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")) if (root / pkg).is_dir() else ():
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _owner(dotted: str, known: dict[str, Path]) -> str | None:
    """The module of ours that `dotted` names or lies in (`corpus.store.Hit` → `corpus.store`), else None."""
    while dotted:
        if dotted in known:
            return dotted
        dotted = dotted.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> list[Import]:
    """Every import statement of `module` (at any depth: functions, conditionals) that loads a module of ours."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _owner(alias.name, known)
                if target and target != module:
                    found.append(Import(module, target, alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `.` is this module's package, each further dot one package up
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                imported = f"{origin}.{alias.name}"
                target = _owner(imported, known)  # the submodule itself for `from corpus import titles`
                if target and target != module:
                    found.append(Import(module, target, imported, node.lineno))
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> list[Import]:
    known = find_modules(root, packages)
    return [imp for module, path in known.items() for imp in imports_of(module, path, known)]


def cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.source, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in order:
            continue
        work = [(start, iter(sorted(graph[start])))]
        order[start] = low[start] = len(order)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in order:
                    order[nxt] = low[nxt] = len(order)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], order[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == order[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def private_imports(imports: list[Import]) -> list[Import]:
    """Imports that name a `_private` module or name of another module (dunders are public)."""
    found = []
    for imp in imports:
        own = imp.source.split(".")
        parts = imp.imported.split(".")
        shared = 0
        while shared < min(len(own), len(parts)) and own[shared] == parts[shared]:
            shared += 1
        if any(p.startswith("_") and not p.startswith("__") for p in parts[shared:]):
            found.append(imp)
    return found


def room(module: str) -> str:
    return module.partition(".")[0]


def crossings(imports: list[Import], allowed) -> list[str]:
    """The imports between top-level packages that `allowed(source_room, target_room)` refuses."""
    return [str(imp) for imp in imports
            if room(imp.source) != room(imp.target) and not allowed(room(imp.source), room(imp.target))]


@functools.cache
def project_imports() -> tuple[Import, ...]:
    return tuple(import_graph(ROOT, PACKAGES))


# ---- the project -------------------------------------------------------------------------------------------------
def test_no_import_cycle_between_modules():
    found = cycles(list(project_imports()))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_import_of_another_modules_private_name():
    found = private_imports(list(project_imports()))
    assert not found, "\n".join(map(str, found))


def test_corpus_imports_nothing_else_of_ours():
    assert not crossings(list(project_imports()), lambda src, dst: src != "corpus")


def test_ingest_and_search_do_not_import_each_other():
    assert not crossings(list(project_imports()), lambda src, dst: {src, dst} != {"ingest", "search"})


def test_rooms_below_the_doors_import_no_door():
    """corpus, ingest, search, the wiring (service) and outreach are what the doors use, never the reverse."""
    assert not crossings(list(project_imports()), lambda src, dst: src in DOORS or dst not in DOORS)


def test_a_door_imports_another_door_only_where_the_command_line_starts_it():
    assert not crossings(list(project_imports()),
                         lambda src, dst: not (src in DOORS and dst in DOORS) or (src, dst) in DOOR_TO_DOOR)


def test_the_walk_sees_every_package_and_the_wiring_in_use():
    modules = find_modules(ROOT, PACKAGES)
    assert {"corpus.settings", "service.runtime", "api.app", "cli.commands", "evaluation.bench"} <= set(modules)
    sources = {imp.source for imp in project_imports() if imp.target == "service.runtime"}
    assert {"api.app", "cli.commands", "evaluation.bench"} <= sources


def test_every_package_that_uses_haystack_turns_its_telemetry_off_first():
    """`corpus/__init__.py` turns Haystack's usage telemetry off (the service runs offline, and questions can hold
    personal data). Haystack reads that switch once, when it is first imported, so every package whose modules import
    haystack imports `corpus` first, in its `__init__`, and importing one of its modules alone sends nothing."""
    users = set()
    for name, path in find_modules(ROOT, PACKAGES).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "haystack" or n.startswith("haystack.") for n in names):
                users.add(name.split(".")[0])
    assert {"ingest", "search"} <= users
    for pkg in sorted(users - {"corpus"}):
        body = ast.parse((ROOT / pkg / "__init__.py").read_text(encoding="utf-8")).body
        first = next((n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))), None)
        assert isinstance(first, ast.Import) and first.names[0].name == "corpus", f"{pkg}/__init__.py"
    code = "import search.levels, ingest.pipeline\nfrom haystack.telemetry import _telemetry\nprint(_telemetry.telemetry)"
    env = {k: v for k, v in os.environ.items() if k != "HAYSTACK_TELEMETRY_ENABLED"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "None", out.stderr[-2000:]


# ---- the checker itself, on a small made-up project --------------------------------------------------------------
@pytest.fixture()
def toy(tmp_path: Path) -> Path:
    files = {
        "alpha/__init__.py": "",
        "alpha/one.py": "from alpha.two import helper\n",
        "alpha/two.py": "def helper():\n    from .one import thing  # inside a function, relative\n",
        "alpha/sub/__init__.py": "from .. import one\n",
        "alpha/sub/deep.py": "from ..two import _hidden\nfrom alpha import _private_mod\nimport alpha.sub\n",
        "alpha/_private_mod.py": "",
        "beta/__init__.py": "import alpha.one\nfrom alpha.sub.deep import visible as v\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_checker_resolves_relative_and_function_level_imports(toy):
    edges = {(i.source, i.target) for i in import_graph(toy, ("alpha", "beta"))}
    assert {("alpha.one", "alpha.two"), ("alpha.two", "alpha.one"), ("alpha.sub", "alpha.one"),
            ("alpha.sub.deep", "alpha.two"), ("alpha.sub.deep", "alpha._private_mod"),
            ("alpha.sub.deep", "alpha.sub"), ("beta", "alpha.one"), ("beta", "alpha.sub.deep")} == edges


def test_checker_finds_cycles_private_names_and_crossings(toy):
    imports = import_graph(toy, ("alpha", "beta"))
    assert cycles(imports) == [["alpha.one", "alpha.two"]]
    assert sorted(str(i) for i in private_imports(imports)) == [
        "alpha.sub.deep (line 1) imports alpha.two._hidden",
        "alpha.sub.deep (line 2) imports alpha._private_mod"]
    assert crossings(imports, lambda src, dst: src != "beta") == [
        "beta (line 1) imports alpha.one", "beta (line 2) imports alpha.sub.deep.visible"]
