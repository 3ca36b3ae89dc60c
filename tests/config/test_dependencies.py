"""The dependencies stay rebuildable, and the library internals the code reads are still there.

requirements.lock and requirements-dev.lock (`make lock`) must pin every dependency that
pyproject.toml names, each with its hashes, since make setup, CI and the Dockerfile install
them with `pip install --require-hashes`.

pyproject.toml caps two libraries whose internals the code reads, outside their public API:
WeasyPrint (the ledger PDF counts the table rows on a page through the page's box tree,
ledger/pdf.py; documents fetch their stylesheet through a URLFetcher subclass,
pilots/documents.py) and django-simple-history (core/bulk.py writes history rows with raw SQL
into its tables; core/timeline.py and accounts/audit.py read its records). Before a cap is
raised these tests run on the new release: each failure names the library and what changed.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

# The columns core/bulk.py writes into every historical table besides the model's own.
HISTORY_COLUMNS = ("history_id", "history_date", "history_change_reason", "history_type",
                   "history_user_id")  # fmt: skip
NOT_PRODUCT_CODE = {"tests", "bench", "node_modules", "static", "var", "artifacts"}


# --- the lock files ----------------------------------------------------------------------------


def parse_lock(path: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """Each locked package of a pip requirements file: its requirement (name==version and an
    environment marker, if any) and its hashes, by canonical name."""
    text = path.read_text(encoding="utf-8")
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    # A requirement runs over continuation lines; comments stand alone on their lines.
    logical = re.sub(r"\\\n", " ", text)
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"{path.name}: an option line {line!r}"
        spec, *options = re.split(r"\s+(?=--)", line)
        hashes = [o.split("=", 1)[1] for o in options if o.startswith("--hash=")]
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name not in entries, f"{path.name}: {name} is locked twice"
        entries[name] = (requirement, hashes)
    return entries


def _pinned(requirement: Requirement) -> Version:
    specifiers = list(requirement.specifier)
    assert len(specifiers) == 1 and specifiers[0].operator == "==", (
        f"{requirement} is not pinned to one version"
    )
    return Version(specifiers[0].version)


def _project_requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(r) for r in names]


@pytest.mark.parametrize(
    ("lock", "extras"), [(RUNTIME_LOCK, ()), (DEV_LOCK, ("dev",))], ids=["runtime", "dev"]
)
def test_the_lock_pins_every_dependency_of_pyproject_with_its_hashes(lock, extras):
    assert lock.exists(), f"{lock.name} is missing: run `make lock`"
    locked = parse_lock(lock)
    for name, (requirement, hashes) in locked.items():
        _pinned(requirement)
        assert hashes, f"{lock.name}: {name} has no hash (pip install --require-hashes refuses)"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (name, hashes)
    missing, outside = [], []
    for wanted in _project_requirements(*extras):
        name = canonicalize_name(wanted.name)
        if name not in locked:
            missing.append(str(wanted))
            continue
        pinned = _pinned(locked[name][0])
        if not wanted.specifier.contains(pinned, prereleases=True):
            outside.append(f"{wanted} (locked {pinned})")
    assert not missing, f"{lock.name} lacks {missing}: pyproject.toml changed, run `make lock`"
    assert not outside, f"{lock.name} pins outside pyproject.toml: {outside}; run `make lock`"


def test_the_dev_lock_pins_the_products_packages_as_the_runtime_lock_does():
    runtime, dev = parse_lock(RUNTIME_LOCK), parse_lock(DEV_LOCK)
    differing = [
        f"{name} {requirement.specifier} / {dev[name][0].specifier if name in dev else 'absent'}"
        for name, (requirement, _hashes) in runtime.items()
        if name not in dev or dev[name][0].specifier != requirement.specifier
    ]
    assert not differing, f"the two locks disagree: {differing}; run `make lock`"


def test_setup_and_the_image_install_from_the_locks_with_hashes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.MULTILINE)
    assert stamp_rule, "the Makefile has no $(STAMP) rule"
    locks = re.search(r"^LOCKS\s*:=\s*(.*)$", makefile, re.MULTILINE)
    assert locks and set(locks.group(1).split()) == {RUNTIME_LOCK.name, DEV_LOCK.name}
    assert "$(LOCKS)" in stamp_rule.group(1), "an updated lock must reinstall (make setup)"
    assert "pip install -q --require-hashes -r requirements-dev.lock" in makefile
    assert "pip install -q --no-deps -e ." in makefile
    assert re.search(r"^lock:", makefile, re.MULTILINE), "make lock is gone"

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY .*\brequirements\.lock\b", dockerfile, re.MULTILINE)
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile


@pytest.mark.parametrize("distribution", ["weasyprint", "django-simple-history", "django"])
def test_the_installed_release_of_a_capped_library_is_one_pyproject_allows(distribution):
    """The checks below mean something only on a release within the caps."""
    wanted = next(r for r in _project_requirements() if canonicalize_name(r.name) == distribution)
    assert any(s.operator in ("<", "<=", "==", "~=") for s in wanted.specifier), (
        f"pyproject.toml no longer caps {distribution}, whose internals the code reads"
    )
    installed = version(distribution)
    assert wanted.specifier.contains(installed, prereleases=True), (
        f"{distribution} {installed} is installed, pyproject.toml wants {wanted.specifier}: "
        "run `make setup`"
    )


# --- WeasyPrint ------------------------------------------------------------------------------

ROWS = 80
TABLE_HTML = (
    "<style>@page { size: A4 landscape; margin: 15mm } td, th { height: 9mm }</style>"
    "<table><thead><tr><th>编号</th><th>名称</th></tr></thead><tbody>"
    + "".join(f"<tr><td>{i}</td><td>试点{i}</td></tr>" for i in range(ROWS))
    + "</tbody><tfoot><tr><td colspan=2>合计</td></tr></tfoot></table>"
)


@pytest.fixture(scope="module")
def table_document():
    from weasyprint import HTML

    return HTML(string=TABLE_HTML).render()


def test_weasyprint_pages_still_hold_their_box_tree(table_document):
    """ledger/pdf_parts.py (rows_on) reads `page._page_box.descendants()`, not public API: a
    ledger part that more rows follow then drops its last, half-filled page."""
    pages = table_document.pages
    assert len(pages) > 1, "the test table should take several pages"
    for page in pages:
        assert hasattr(page, "_page_box"), (
            "WeasyPrint: Page no longer has `_page_box`; ledger/pdf_parts.py rows_on reads it"
        )
        assert callable(getattr(page._page_box, "descendants", None)), (
            "WeasyPrint: page boxes no longer have descendants(); ledger/pdf.py walks them"
        )


def test_weasyprint_table_row_groups_still_tell_header_and_footer_apart(table_document):
    try:
        from weasyprint.formatting_structure.boxes import TableRowGroupBox
    except ImportError as exc:  # pragma: no cover - only on a changed WeasyPrint
        pytest.fail(f"WeasyPrint: weasyprint.formatting_structure.boxes moved ({exc})")
    groups = [
        box
        for page in table_document.pages
        for box in page._page_box.descendants()
        if isinstance(box, TableRowGroupBox)
    ]
    assert groups, "WeasyPrint: no TableRowGroupBox in a laid-out table; ledger/pdf.py counts them"
    for attribute in ("is_header", "is_footer", "children"):
        assert all(hasattr(g, attribute) for g in groups), (
            f"WeasyPrint: TableRowGroupBox lost `{attribute}`; ledger/pdf_parts.py rows_on reads it"
        )
    assert any(g.is_header for g in groups) and any(g.is_footer for g in groups), (
        "WeasyPrint: thead/tfoot are no longer marked is_header/is_footer on their row groups"
    )


def test_weasyprint_rows_counted_per_page_add_up_to_the_table(table_document):
    """What ledger/pdf.py makes of those internals: the body rows of every page, and a copy of
    the document without its last page (Document.copy)."""
    from ledger.pdf_parts import rows_on

    counts = [rows_on(page) for page in table_document.pages]
    assert sum(counts) == ROWS and all(counts), (
        f"WeasyPrint: body rows per page {counts} do not add up to the table's {ROWS}"
    )
    shorter = table_document.copy(table_document.pages[:-1])
    assert len(shorter.pages) == len(table_document.pages) - 1, "WeasyPrint: Document.copy"


def test_weasyprint_url_fetcher_is_still_a_class_taking_fail_on_errors():
    """pilots/documents.py subclasses URLFetcher (WeasyPrint 68+) and answers with
    URLFetcherResponse(url, body, headers)."""
    try:
        from weasyprint.urls import URLFetcher, URLFetcherResponse
    except ImportError as exc:  # pragma: no cover - only on a changed WeasyPrint
        pytest.fail(f"WeasyPrint: weasyprint.urls no longer has URLFetcher ({exc})")
    assert "fail_on_errors" in inspect.signature(URLFetcher.__init__).parameters, (
        "WeasyPrint: URLFetcher() no longer takes fail_on_errors; pilots/documents.py passes it"
    )
    assert callable(getattr(URLFetcher, "fetch", None)), "WeasyPrint: URLFetcher.fetch is gone"
    parameters = list(inspect.signature(URLFetcherResponse.__init__).parameters)
    assert parameters[1:4] == ["url", "body", "headers"], (
        f"WeasyPrint: URLFetcherResponse takes {parameters[1:]}, pilots/documents.py passes "
        "(url, body, headers)"
    )


# --- django-simple-history ----------------------------------------------------------------------


def _tracked_models():
    """The models with a history (simple-history marks their options)."""
    from django.apps import apps

    models = [
        model
        for model in apps.get_models()
        if getattr(model._meta, "simple_history_manager_attribute", None) == "history"
    ]
    assert models, "django-simple-history: no model is registered"
    return models


def test_simple_history_tables_have_the_columns_the_bulk_insert_writes():
    """core/bulk.py copies rows into a historical table with one INSERT … SELECT naming the
    model's own columns and history_date, history_change_reason, history_type,
    history_user_id; history_id must number itself."""
    from django.db import models

    problems = []
    for model in _tracked_models():
        history = model.history.model
        columns = {f.column: f for f in history._meta.concrete_fields}
        label = f"{model._meta.label} ({history._meta.db_table})"
        for name in HISTORY_COLUMNS:
            if name not in columns:
                problems.append(f"{label} has no column {name}")
        pk = history._meta.pk
        if pk.column != "history_id" or not isinstance(pk, models.AutoField):
            problems.append(f"{label}: the primary key is {pk.column} ({type(pk).__name__})")
        tracked = {f.column for f in history.tracked_fields}
        lacking = tracked - set(columns)
        if lacking:
            problems.append(f"{label} lacks the tracked columns {sorted(lacking)}")
        # Any other column the INSERT does not name must be nullable or have a default.
        required = [
            column
            for column, field in columns.items()
            if column not in tracked
            and column not in HISTORY_COLUMNS
            and not field.null
            and not field.has_default()
        ]
        if required:
            problems.append(f"{label} has new required columns {required}")
    assert not problems, "django-simple-history changed its tables: " + "; ".join(problems)


def test_the_models_written_in_bulk_keep_every_column_in_their_history():
    """core/bulk.py copies every concrete column of the model: none may be excluded from its
    history. The models are those the product passes to insert_with_history and
    update_with_history."""
    from django.apps import apps

    by_name = {m.__name__: m for m in apps.get_models()}
    called = set()
    for top in ROOT.iterdir():
        if not top.is_dir() or top.name.startswith(".") or top.name in NOT_PRODUCT_CODE:
            continue
        for path in top.rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            called |= set(re.findall(r"\b(?:insert|update)_with_history\(\s*(\w+)\s*,", text))
    called.discard("model")  # the definitions' own fallbacks
    assert called, "no call of core/bulk.py's insert_with_history or update_with_history found"
    for name in sorted(called):
        model = by_name[name]
        own = {f.column for f in model._meta.concrete_fields}
        tracked = {f.column for f in model.history.model.tracked_fields}
        assert own <= tracked, (
            f"django-simple-history: {model._meta.label}'s history lacks {sorted(own - tracked)}, "
            "which core/bulk.py copies"
        )


def test_simple_history_change_reason_and_type_hold_what_the_bulk_insert_writes():
    from pilots.models import Pilot

    history = Pilot.history.model
    reason = history._meta.get_field("history_change_reason")
    kind = history._meta.get_field("history_type")
    assert reason.get_internal_type() == "TextField", (
        "django-simple-history: history_change_reason is no longer a text column "
        "(SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD)"
    )
    assert {"+", "~", "-"} <= {value for value, _label in kind.choices}, (
        "django-simple-history: history_type no longer takes + ~ -"
    )
    user = history._meta.get_field("history_user")
    assert user.column == "history_user_id" and user.null, (
        "django-simple-history: history_user is no longer a nullable history_user_id column"
    )


def test_simple_history_utilities_keep_the_signatures_the_code_calls():
    from simple_history import utils
    from simple_history.models import HistoricalChanges, HistoricalRecords

    wanted = {
        "bulk_create_with_history": {"batch_size", "default_change_reason"},
        "bulk_update_with_history": {"batch_size", "default_change_reason"},
    }
    for name, parameters in wanted.items():
        function = getattr(utils, name, None)
        assert function is not None, f"django-simple-history: simple_history.utils.{name} is gone"
        lacking = parameters - set(inspect.signature(function).parameters)
        assert not lacking, f"django-simple-history: {name}() no longer takes {sorted(lacking)}"
    assert callable(getattr(utils, "get_m2m_reverse_field_name", None)), (
        "django-simple-history: simple_history.utils.get_m2m_reverse_field_name is gone "
        "(core/timeline.py)"
    )
    diff = inspect.signature(HistoricalChanges.diff_against).parameters
    assert {"excluded_fields", "foreign_keys_are_objs"} <= set(diff), (
        "django-simple-history: diff_against() lost excluded_fields or foreign_keys_are_objs"
    )
    assert hasattr(HistoricalRecords, "context"), (
        "django-simple-history: HistoricalRecords.context (the request, accounts/audit.py) is gone"
    )


@pytest.mark.django_db
def test_simple_history_records_still_list_their_many_to_many_fields(orgs, make_pilot):
    """core/timeline.py reads `_history_m2m_fields` of a historical record to load every
    many-to-many field's rows in one query."""
    pilot = make_pilot()
    record = pilot.history.first()
    assert record is not None
    fields = getattr(record, "_history_m2m_fields", None)
    assert fields is not None, (
        "django-simple-history: historical records no longer have _history_m2m_fields "
        "(core/timeline.py)"
    )
    assert {"regions", "participating_units"} <= {f.name for f in fields}, fields
