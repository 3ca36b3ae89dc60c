"""R1.3 on every way into the library: the overlap check runs after commit on submission
(pilots.calls, pilots.screening), direct entry of state-, ministry- and department-deployed
pilots (R2.2) and a change of content (pilots.services), filing (ledger.filing) and Excel import
(ledger.imports) — and, where it runs, it finds the same reform in other words, never a pilot
whose text shares nothing, and records at most a few flags with their reasons."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ledger.filing import submit_filing
from ledger.imports import apply_import, preview_pilot_import
from pilots import overlap
from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.models import CodeSequence, OverlapFlag
from pilots.services import enter_pilot, update_pilot
from tests.factories import ledger_sheet_row
from tests.ledger.test_excel_import import _sheet, _upload
from tests.ledger.test_filing import filing_data, plan_pdf

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")

DAMAGES = {
    "name": "宁波市生态环境损害赔偿磋商机制创新试点",
    "field": ReformField.GOVERNANCE,
    "goal": "探索生态环境损害赔偿磋商和司法确认衔接机制，提高赔偿案件办理效率，及时修复受损"
    "生态环境。",
    "measures": "1.制定生态环境损害赔偿磋商办法；2.委托第三方开展损害鉴定评估；3.建立赔偿资金"
    "管理和修复监督制度；4.推动磋商协议司法确认。",
    "scope": "宁波市全域。",
}
FORESTS = {
    "name": "林长制改革试点",
    "field": ReformField.GOVERNANCE,
    "goal": "建立市、县、乡、村四级林长体系，压实各级党委政府保护发展森林资源的责任。",
    "measures": "1.设立各级林长，划定林长责任区；2.建立林长巡林和问题交办制度。",
    "scope": "西湖区全域。",
}


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def in_2026(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 7, 10, 0, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def existing(make_pilot, orgs):
    """An active pilot of the environment department in Ningbo, indexed; codes handed out
    from here on do not collide with the factory's."""
    CodeSequence.objects.create(year=2026, last=500)
    pilot = make_pilot(**DAMAGES, status=Status.ACTIVE, regions=[orgs["ningbo"]])
    overlap.index_pilot(pilot)
    return pilot


def entry(orgs, text: dict, **overrides) -> dict:
    data = {
        **{k: v for k, v in text.items() if k != "scope"},
        "kind": PilotKind.SINGLE,
        "origin": Origin.DEPARTMENT,
        "implementing_body": "杭州市生态环境局",
        "lead_department": orgs["dept"],
        "scope": "杭州市全域。",
        "start_date": D(2026, 6, 1),
        "end_date": D(2027, 5, 31),
        "responsible_body": "杭州市生态环境局",
        "expected_outcomes": "形成可复制的制度成果。",
        "approval_authority": "浙江省生态环境厅",
        "approval_doc_number": "浙环函〔2026〕88号",
        "approval_date": D(2026, 3, 1),
    }
    data.update(overrides)
    return data


def flagged(pilot) -> dict[int, OverlapFlag]:
    return {f.other_id: f for f in OverlapFlag.objects.filter(pilot=pilot)}


def test_R1_3_direct_entry_copying_another_pilots_goal_and_measures_is_flagged(
    existing, personas, orgs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pilot = enter_pilot(
            actor=personas["dept"],
            data=entry(orgs, {**DAMAGES, "name": "杭州市生态环境损害赔偿改革试点"}),
            regions=[orgs["hangzhou"]],
        )

    flag = flagged(pilot)[existing.pk]
    assert flag.score >= 0.8
    assert any(r.startswith(overlap.REASON_REFORM_PREFIX) for r in flag.reasons)


def test_R1_3_direct_entry_of_another_reform_is_not_flagged(
    existing, personas, orgs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        pilot = enter_pilot(
            actor=personas["dept"], data=entry(orgs, FORESTS), regions=[orgs["ningbo"]]
        )  # same field and region as the existing pilot: still nothing in common

    assert flagged(pilot) == {}


def test_R1_3_a_change_of_content_is_checked_again(
    existing, personas, orgs, make_pilot, django_capture_on_commit_callbacks
):
    pilot = make_pilot(
        **FORESTS, status=Status.APPROVED, lead_department=orgs["dept"], regions=[orgs["county"]]
    )
    assert flagged(pilot) == {}

    with django_capture_on_commit_callbacks(execute=True):
        update_pilot(
            actor=personas["dept"],
            pilot=pilot,
            data={"goal": DAMAGES["goal"], "measures": DAMAGES["measures"]},
            reason="按批复调整试点内容",
        )

    assert existing.pk in flagged(pilot)


def test_R1_3_filing_checks_the_pilot(
    existing, personas, orgs, make_pilot, django_capture_on_commit_callbacks
):
    approved = make_pilot(
        **{**DAMAGES, "name": "杭州市生态环境损害赔偿制度改革试点"},
        status=Status.APPROVED,
        approval_date=D(2026, 3, 2),
        lead_department=orgs["dept"],
        ledger_since=None,
        regions=[orgs["county"]],
    )
    assert flagged(approved) == {}  # entered before the check ran on every way in

    with django_capture_on_commit_callbacks(execute=True):
        submit_filing(actor=personas["dept"], pilot=approved, data=filing_data(), plan=plan_pdf())

    assert existing.pk in flagged(approved)


def test_R1_3_import_checks_the_new_pilots(existing, personas, django_capture_on_commit_callbacks):
    batch = preview_pilot_import(
        actor=personas["office"],
        upload=_upload(_sheet(ledger_sheet_row(试点名称="湖州市生态环境损害赔偿磋商制度改革试点"))),
    )
    with django_capture_on_commit_callbacks(execute=True):
        apply_import(actor=personas["office"], batch=batch)

    new = OverlapFlag.objects.filter(other=existing).select_related("pilot")
    assert [f.pilot.name for f in new] == ["湖州市生态环境损害赔偿磋商制度改革试点"]


def test_R1_3_at_most_the_configured_number_of_flags_is_recorded(make_pilot, orgs, settings):
    settings.OVERLAP_MAX_FLAGS = 2
    for n in range(4):
        make_pilot(**{**DAMAGES, "name": f"生态环境损害赔偿磋商试点{n}"}, regions=[orgs["ningbo"]])
    overlap.reindex_all()
    proposal = make_pilot(**DAMAGES, status=Status.SUBMITTED, regions=[orgs["county"]])

    flags = overlap.record_overlaps(proposal)

    assert len(flags) == 2 == OverlapFlag.objects.filter(pilot=proposal).count()
    assert flags[0].score >= flags[1].score
