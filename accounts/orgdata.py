"""The directory of real organisations (accounts/data/organisations.json).

The office, the provincial departments, the environment department's divisions and directly
affiliated units, the 11 prefecture bureaus with every county-level bureau (2024 divisions),
and third-party evaluation bodies. Demo data, benchmarks and a fresh installation all load it
through `ensure_organisations`.

The demo also loads, through `ensure_plan_units`, the units named by the sample reform plan
(accounts/data/demo_plan_units.json, for ledger/data/xinfu-reform-plan-2018.xlsx): one
county-kind organisation 忻州市忻府区 and its local departments (区发改局, 区财政局,
市国土局忻府分局, 区编办 …), each under its full name with the plan's abbreviation as its
short name, so that the plan imports without inventing units.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.db import transaction

from accounts.constants import OrgKind
from accounts.models import Organisation

FIXTURE_PATH = Path(__file__).resolve().parent / "data" / "organisations.json"
PLAN_UNITS_PATH = Path(__file__).resolve().parent / "data" / "demo_plan_units.json"
CHANGE_REASON = "单位名录初始化"
PLAN_UNITS_REASON = "改革方案单位初始化"
_FIELDS = ("name", "short_name", "kind", "sort_order")


@cache
def organisation_rows() -> tuple[dict, ...]:
    """The fixture's rows, parents before children, checked for obvious mistakes."""
    return _ordered_rows(FIXTURE_PATH)


@cache
def plan_unit_rows() -> tuple[dict, ...]:
    """The sample reform plan's units (demo_plan_units.json), parents before children."""
    return _ordered_rows(PLAN_UNITS_PATH)


def _ordered_rows(path: Path) -> tuple[dict, ...]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    codes = {row["code"] for row in rows}
    if len(codes) != len(rows):
        raise ValueError(f"{path.name}: duplicate organisation codes")
    kinds = set(OrgKind.values)
    for row in rows:
        if row["kind"] not in kinds:
            raise ValueError(f"{path.name}: unknown kind {row['kind']!r} for {row['code']}")
        if row["parent"] is not None and row["parent"] not in codes:
            raise ValueError(f"{path.name}: unknown parent {row['parent']!r}")
    ordered: list[dict] = []
    placed: set[str] = set()
    pending = list(rows)
    while pending:
        ready = [row for row in pending if row["parent"] is None or row["parent"] in placed]
        if not ready:
            raise ValueError(f"{path.name}: parent cycle among {[r['code'] for r in pending]}")
        ordered.extend(ready)
        placed.update(row["code"] for row in ready)
        pending = [row for row in pending if row["code"] not in placed]
    return tuple(ordered)


@transaction.atomic
def ensure_organisations() -> dict[str, Organisation]:
    """Create or update every organisation of the fixture, keyed by code; return code → org.

    Idempotent: a row already as the fixture says is not saved again, so a second run writes
    neither rows nor history. Organisations not in the fixture are left alone, and so is the
    `is_active` flag the office may have switched off."""
    return _ensure(organisation_rows(), CHANGE_REASON)


@transaction.atomic
def ensure_plan_units() -> dict[str, Organisation]:
    """Create or update the sample reform plan's units (demo_plan_units.json): the county
    organisation 忻州市忻府区 and its local departments; return code → organisation.
    Idempotent like `ensure_organisations`, which it leaves alone."""
    return _ensure(plan_unit_rows(), PLAN_UNITS_REASON)


def _ensure(rows: tuple[dict, ...], reason: str) -> dict[str, Organisation]:
    codes = [row["code"] for row in rows]
    existing = {org.code: org for org in Organisation.objects.filter(code__in=codes)}
    result: dict[str, Organisation] = {}
    for row in rows:
        parent = result[row["parent"]] if row["parent"] else None
        wanted = {name: row[name] for name in _FIELDS}
        org = existing.get(row["code"])
        if org is None:
            org = Organisation(code=row["code"], parent=parent, **wanted)
        elif org.parent_id == (parent.pk if parent else None) and all(
            getattr(org, name) == value for name, value in wanted.items()
        ):
            result[org.code] = org
            continue
        else:
            org.parent = parent
            for name, value in wanted.items():
                setattr(org, name, value)
        org._change_reason = reason
        org.save()
        result[org.code] = org
    return result
