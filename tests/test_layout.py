"""The house the kinds live in: one folder per kind, a shared core, no kind importing
another, no import cycle, and a kind interface (and `storyloom --help`) that loads no
spaCy. Read from the source with `ast`, so a regression names the file and the import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("story", "documents", "advice", "augment")


def _modules() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: dict[str, Path] = {}
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        for path in (ROOT / folder).glob("*.py"):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _imports(path: Path) -> Iterator[str]:
    """Every storyloom module `path` imports, at module level or inside a function (an
    import only type checkers read, under `if TYPE_CHECKING:`, never runs)."""
    tree = ast.parse(path.read_text())
    for guard in ast.walk(tree):
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test):
            guard.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {dep for dep in _imports(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }


#: One file name per role, in every kind: its input loaders, its balanced draw, its reply
#: models, its prompts, its gates, its scripted replies and its own report figures.
ROLES = (
    "inputs.py",
    "draws.py",
    "models.py",
    "prompts.py",
    "gates.py",
    "fake.py",
    "figures.py",
)


def test_every_kind_has_its_own_folder_with_the_same_role_files() -> None:
    for kind in KINDS:
        folder = ROOT / "stories" / kind
        assert (folder / "kind.py").is_file(), f"stories/{kind}/kind.py"
        assert (folder / "__init__.py").is_file(), f"stories/{kind}/__init__.py"
    for role in ROLES:
        for kind in KINDS:
            assert (ROOT / "stories" / kind / role).is_file(), f"stories/{kind}/{role}"


def test_no_kind_imports_another_kind_and_the_core_imports_none() -> None:
    kind_of = {
        name: name.split(".")[2]
        for name in _modules()
        if name.startswith("storyloom.stories.") and name.split(".")[2] in KINDS
    }
    for name, deps in _graph().items():
        for dep in deps:
            if dep not in kind_of:
                continue
            if name.startswith("storyloom.stories.") and name in kind_of:
                assert kind_of[dep] == kind_of[name], f"{name} imports {dep}"
            else:  # the core, the workflow and the rest know no kind's modules; the CLI
                # and the evaluation suites (the knowledge suite is made from the documents
                # kind's claims file) use kinds, as a plug-in's user would
                assert name.startswith(("storyloom.cli.", "storyloom.evals.")), (
                    f"{name} imports {dep}"
                )


def test_no_import_cycle_among_the_project_modules() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def _loads_spacy(code: str) -> bool:
    probe = f"import sys\n{code}\nprint('spacy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1] == "True"


def test_the_kind_interface_and_help_load_no_spacy() -> None:
    assert not _loads_spacy("import storyloom.stories, storyloom.stories.kind")
    assert not _loads_spacy("import storyloom.stories.registry as r; r.kind_names()")
    help_code = (
        "from click.testing import CliRunner\n"
        "from storyloom.cli.main import cli\n"
        "assert CliRunner().invoke(cli, ['--help']).exit_code == 0"
    )
    assert not _loads_spacy(help_code)
