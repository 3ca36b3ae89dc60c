"""R1.3 measured: recall and precision per flag of the overlap check on a labelled set built
from the project's own material (tests/pilots/data/overlap_labelled.py): the imported county
plan's 36 reform items and the demo pilots as the library, paraphrases of them and distinct
proposals as the new pilots. Field and region cannot help: every library pilot is in Ningbo,
every proposal in Hangzhou."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from pilots import overlap
from pilots.constants import Origin, PilotKind, ReformField, Status
from tests.pilots.data.overlap_labelled import PROPOSALS

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "ledger" / "data" / "xinfu-reform-plan-2018.xlsx"
DEMO = ROOT / "demo" / "data" / "demo_pilots.json"
AREAS = {
    "健全自然资源资产产权制度": ReformField.PROPERTY_RIGHTS,
    "建立国土空间开发保护制度": ReformField.SPATIAL_PROTECTION,
    "建立空间规划体系": ReformField.SPATIAL_PLANNING,
    "完善资源总量管理和全面节约制度": ReformField.RESOURCE_QUOTA,
    "健全资源有偿使用和生态补偿制度": ReformField.COMPENSATION,
    "建立健全环境治理体系": ReformField.GOVERNANCE,
    "健全环境治理和生态保护市场体系": ReformField.MARKET,
    "完善生态文明绩效评价考核和责任追究制度": ReformField.ACCOUNTABILITY,
}
OUT_OF_PLAY = {Status.DRAFT, Status.REJECTED, Status.WITHDRAWN, Status.PURGED}


def plan_items() -> dict[str, dict]:
    """The county plan's reform items: X01 … X36, each with its main tasks as measures."""
    sheet = openpyxl.load_workbook(PLAN, read_only=True).worksheets[0]
    items: dict[str, dict] = {}
    for area, no, name, content, task, *_ in list(sheet.iter_rows(values_only=True))[1:]:
        item = items.setdefault(
            f"X{int(no):02d}",
            {"name": name, "field": AREAS[area], "goal": content, "measures": ""},
        )
        item["measures"] += task
    return items


def demo_pilots() -> dict[str, dict]:
    rows = json.loads(DEMO.read_text(encoding="utf-8"))
    return {
        row["name"]: {
            "name": row["name"],
            "field": row["field"],
            "kind": row["kind"],
            "origin": row["origin"],
            "status": row["status"],
            "goal": row["goal"],
            "measures": row["measures"],
            "scope": row["scope"],
        }
        for row in rows
        if row["status"] not in OUT_OF_PLAY
    }


@pytest.fixture
def library(make_pilot, orgs) -> dict[str, int]:
    """Library key → pilot id, indexed."""
    keys: dict[str, int] = {}
    for key, item in plan_items().items():
        keys[key] = make_pilot(
            **item, origin=Origin.DEPARTMENT, scope="忻府区", regions=[orgs["ningbo"]]
        ).pk
    for key, item in demo_pilots().items():
        keys[key] = make_pilot(**item, regions=[orgs["ningbo"]]).pk
    overlap.reindex_all()
    return keys


def test_R1_3_labelled_set_is_consistent():
    keys = set(plan_items()) | set(demo_pilots())
    assert len(plan_items()) == 36
    for proposal in PROPOSALS:
        assert set(proposal["same"]) | set(proposal["related"]) <= keys, proposal["name"]
    assert sum(bool(p["same"]) for p in PROPOSALS) >= 25
    assert sum(not p["same"] for p in PROPOSALS) >= 5


def test_R1_3_labelled_set_recall_and_precision_per_flag(library, make_pilot, orgs, capsys):
    names = {pk: key for key, pk in library.items()}
    expected = found = flags = right = 0
    misses, wrong = [], []
    for proposal in PROPOSALS:
        pilot = make_pilot(
            name=proposal["name"],
            field=proposal["field"],
            kind=PilotKind.SINGLE,
            origin=Origin.CALL,
            status=Status.DRAFT,  # never a candidate of the other proposals
            goal=proposal["goal"],
            measures=proposal["measures"],
            scope="全市",
            regions=[orgs["hangzhou"]],
        )
        flagged = [names[c.pilot_id] for c in overlap.find_overlaps(pilot)]
        assert len(flagged) <= overlap.max_flags()
        acceptable = set(proposal["same"]) | set(proposal["related"])
        expected += len(proposal["same"])
        found += sum(key in flagged for key in proposal["same"])
        misses += [(proposal["name"], key) for key in proposal["same"] if key not in flagged]
        flags += len(flagged)
        right += sum(key in acceptable for key in flagged)
        wrong += [(proposal["name"], key) for key in flagged if key not in acceptable]
    recall, precision = found / expected, right / flags
    with capsys.disabled():
        print(
            f"\nR1.3 labelled set: {len(PROPOSALS)} proposals, {len(library)} library pilots; "
            f"recall {recall:.3f} ({found}/{expected}), precision per flag {precision:.3f} "
            f"({right}/{flags}); missed {misses}; wrong flags {wrong}"
        )
    assert recall >= 0.9, misses
    assert precision >= 0.8, wrong
