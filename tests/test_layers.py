"""The layers of the house: every import points down, never up or sideways.

Each package may import only the packages listed below it in the README's
architecture section (``LAYERS``, read from there)
(``copsite``, the project's wiring, may import anything, and nothing but
Django's entry points imports it). Every ``import`` statement counts, at the
top of a module or inside a function. Apps higher up reach the ones above them
only through registries filled in ``AppConfig.ready()``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def layers_from_readme() -> list[tuple[str, ...]]:
    """The order written once, in the README's architecture section: lowest first, siblings on one row."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- layers:", 1)[1].split("<!-- /layers -->", 1)[0]
    rows = []
    for line in block.split("```")[1].strip("\n").splitlines():
        names = line.split("  ", 1)[0].split()
        rows.append(tuple(names))
    return list(reversed(rows))


LAYERS = layers_from_readme()
RANK = {package: rank for rank, row in enumerate(LAYERS) for package in row}
# The project's wiring and the entry points that may import it.
WIRING = "copsite"
ENTRY_POINTS = {"manage.py", "copsite"}


def modules() -> list[Path]:
    found = []
    for package in [*RANK, WIRING]:
        found += [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]
    return found


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the file, however deep in a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def wrong_imports(files: list[Path]) -> list[str]:
    wrong = []
    for path in files:
        package = path.relative_to(ROOT).parts[0]
        for line, target in imported_packages(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if target == WIRING and package not in ENTRY_POINTS:
                wrong.append(f"{where} (only Django's entry points import the project's wiring)")
            elif package in RANK and target in RANK and target != package and RANK[target] >= RANK[package]:
                wrong.append(f"{where} (upward or sideways: {target} is not below {package})")
    return wrong


def test_the_readme_lists_the_layers_in_order():
    assert LAYERS[0] == ("core",) and LAYERS[1] == ("accounts",) and ("discovery", "portability") in LAYERS


def test_every_package_is_on_a_layer():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps <= set(RANK) | {"bench"}, f"add {sorted(apps - set(RANK))} to the README's layers"


def test_imports_point_down_only():
    assert wrong_imports(modules()) == []


def test_nothing_imports_the_project_package_but_its_entry_points():
    outside = [p for p in ROOT.glob("*.py") if p.name != "manage.py"]
    outside += [p for p in (ROOT / "tests").rglob("*.py")]
    offenders = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in outside
        for line, target in imported_packages(p)
        if target == WIRING and p.name not in {"settings.py", "conftest.py"}
    ]
    assert offenders == [], "only Django's entry points (manage.py, wsgi, celery) and test settings import copsite"


@pytest.mark.parametrize(
    ("package", "source", "complaint"),
    [
        ("core", "from communities import policy\n", "upward"),
        ("discussions", "def f():\n    from resources.models import Resource\n", "upward"),
        ("discovery", "import portability.member\n", "sideways"),
        ("resources", "from copsite.settings import DEBUG\n", "entry points"),
    ],
)
def test_the_check_catches_an_upward_import_a_sideways_one_and_a_lazy_one(
    tmp_path, monkeypatch, package, source, complaint
):
    fake_root = tmp_path
    (fake_root / package).mkdir()
    module = fake_root / package / "bad.py"
    module.write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake_root)
    [found] = wrong_imports([module])
    assert complaint in found
