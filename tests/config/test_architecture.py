"""The house's layers and room sizes (docs/architecture.md), read from the source.

Bottom to top: core → accounts → pilots → ledger → reviews → dashboards → api → demo. A module
may import its own app and the apps below it, never one above: not at the top of the module,
not inside a function, not through `apps.get_model("app", …)` or an "app.Model" string. The
higher apps reach the lower pages through registries the lower app defines (pilot page
panels, home page sections, deadline sources, jobs, notice-link guards, calendar pages)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["core", "accounts", "pilots", "ledger", "reviews", "dashboards", "api", "demo"]
RANK = {app: i for i, app in enumerate(LAYERS)}
MAX_LINES = 500


def app_modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def _app_of(dotted: str) -> str | None:
    top = dotted.split(".")[0]
    return top if top in RANK else None


def imported_apps(path: Path) -> list[tuple[int, str]]:
    """(line, app) for every import of a layered app in the module, wherever it stands, and
    every model named by app label in apps.get_model(...) or a lazy "app.Model" reference."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if called in ("get_model", "import_module", "import_string") and args:
                if isinstance(args[0], str):
                    names.append(args[0])
            if called in ("ForeignKey", "OneToOneField", "ManyToManyField") and args:
                if isinstance(args[0], str) and "." in args[0]:
                    names.append(args[0])
        for name in names:
            app = _app_of(name)
            if app is not None:
                found.append((node.lineno, app))
    return found


def test_no_module_imports_an_app_above_its_own():
    upward = [
        f"{path.relative_to(ROOT)}:{line} ({app} → {target})"
        for app, path in app_modules()
        for line, target in imported_apps(path)
        if RANK[target] > RANK[app]
    ]
    assert upward == [], "imports that point up the layers:\n" + "\n".join(upward)


def test_the_layer_check_sees_function_level_and_get_model_imports(tmp_path):
    """The check itself: a function-level import and an apps.get_model string are found."""
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n"
        "    from reviews.models import Inspection\n"
        "    return apps.get_model('ledger', 'Filing')\n"
    )
    assert sorted(imported_apps(module)) == [(2, "reviews"), (3, "ledger")]


@pytest.mark.parametrize("app", LAYERS)
def test_no_app_module_is_over_500_lines(app):
    over = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for layer, path in app_modules()
        if layer == app and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert over == [], f"modules over {MAX_LINES} lines (split them by concept):\n" + "\n".join(
        over
    )


def test_every_app_of_the_project_has_its_place_in_the_layers():
    from django.conf import settings

    ours = [
        app
        for app in settings.INSTALLED_APPS
        if (ROOT / app.split(".")[0] / "apps.py").exists() and "." not in app
    ]
    assert sorted(ours) == sorted(LAYERS), (
        "an app of the project is missing from the layer order (docs/architecture.md)"
    )
