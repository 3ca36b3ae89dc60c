"""The Excel import changes pilots only as the domain functions do (ledger.imports →
pilots.services.correct_ledger_pilot): an end date later than the approved one is an extension
(R2.4), the lead department (R2.2) and the ledger date (R2.3) of a ledger pilot stay as filed,
every change is in history with its batch; units no longer in use are refused; an imported
report is as late as its submitted date makes it (R2.3)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Organisation
from core.xlsx import write_workbook
from ledger.constants import ImportStatus
from ledger.imports import apply_import, batch_reason, preview_pilot_import, preview_plan_import
from ledger.models import QuarterlyReport, ReformPlan
from ledger.selectors import LEDGER_HEADERS
from pilots import services
from pilots.constants import Status
from pilots.models import Pilot
from tests.factories import ledger_sheet_row as _row

D = dt.date
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 16, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def office(personas):
    return personas["office"]


@pytest.fixture
def active(make_pilot, orgs):
    """A ledger pilot as the ledger row below shows it, unchanged."""
    return make_pilot(
        code="ST-2025-0007",
        name="湖州市生态环境损害赔偿磋商制度改革试点",
        implementing_body="杭州市生态环境局西湖分局",
        approval_doc_number="浙环函〔2025〕101号",
        approval_date=D(2025, 12, 1),
        ledger_since=D(2025, 12, 8),
        regions=[orgs["county"]],
        status=Status.ACTIVE,
    )


def _sheet(*rows: list, reported: list | None = None) -> bytes:
    if reported is None:
        return write_workbook("改革试点台账", LEDGER_HEADERS, rows)
    return write_workbook(
        "改革试点台账",
        [*LEDGER_HEADERS, "进展报送日期"],
        [[*row, day] for row, day in zip(rows, reported, strict=True)],
    )


def _preview(office, data: bytes):
    return preview_pilot_import(actor=office, upload=SimpleUploadedFile("台账.xlsx", data))


def _existing(**cells) -> list:
    return _row(试点编号="ST-2025-0007", **cells)


# --- R2.4 / R2.2 / R2.3: existing pilots change only through the domain function ---------------


def test_the_ledger_row_of_an_existing_pilot_reads_unchanged(active, office):
    batch = _preview(office, _sheet(_existing()))

    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    assert batch.preview[0]["action"] == "unchanged"


def test_an_end_date_later_than_the_approved_one_is_refused_as_an_extension_R2_4(active, office):
    batch = _preview(office, _sheet(_row(), _existing(结束日期=D(2027, 6, 30))))

    assert batch.status == ImportStatus.FAILED
    (error,) = batch.errors
    assert (error["row"], error["column"]) == (3, "结束日期")
    assert error["text"].startswith("第3行「结束日期」：延长期限须通过延期申请（第二条第（四）项）")
    assert "2026年12月31日" in error["message"]
    with pytest.raises(ValidationError):
        apply_import(actor=office, batch=batch)
    active.refresh_from_db()
    assert active.end_date == D(2026, 12, 31)
    assert Pilot.objects.count() == 1


def test_the_lead_department_of_a_ledger_pilot_is_not_changed_by_import_R2_2(active, office):
    batch = _preview(office, _sheet(_existing(牵头部门="浙江省水利厅")))

    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "牵头部门")]
    assert "牵头部门不能更改" in batch.errors[0]["message"]
    assert "浙江省生态环境厅" in batch.errors[0]["message"]


def test_the_ledger_date_of_a_ledger_pilot_is_not_changed_by_import_R2_3(active, office):
    batch = _preview(office, _sheet(_existing(列入台账日期=D(2025, 12, 20))))

    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "列入台账日期")]
    assert "以省办确认备案为准" in batch.errors[0]["message"]


def test_every_change_of_an_existing_pilot_is_in_history_with_its_batch_R2_4(active, office, orgs):
    before = active.history.count()
    batch = _preview(
        office,
        _sheet(
            _existing(
                试点名称="湖州市生态环境损害赔偿磋商制度改革试点（调整）",
                批复文号="浙环函〔2025〕109号",
                结束日期=D(2026, 10, 31),
                试点地区="西湖区、杭州",
            )
        ),
    )
    assert batch.status == ImportStatus.PREVIEWED, batch.errors

    batch = apply_import(actor=office, batch=batch)

    assert batch.status == ImportStatus.APPLIED, batch.errors
    active.refresh_from_db()
    assert active.end_date == D(2026, 10, 31)
    every = list(active.history.order_by("history_id"))
    records = every[before:]
    assert {r.history_change_reason for r in records} == {f"Excel导入（批次#{batch.pk}）"}
    assert {r.history_user for r in records} == {office}
    fields = records[0].diff_against(every[before - 1]).changed_fields
    assert set(fields) == {"name", "approval_doc_number", "end_date"}
    assert set(records[-1].regions.values_list("organisation", flat=True)) == {
        orgs["county"].pk,
        orgs["hangzhou"].pk,
    }


def test_apply_refuses_every_row_when_the_approved_term_changed_meanwhile_R2_4(active, office):
    batch = _preview(
        office, _sheet(_row(试点名称="新试点", 批复文号="浙环函〔2025〕120号"), _existing())
    )
    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    # meanwhile the term is shortened: the row's end date is now an extension
    services.correct_ledger_pilot(
        actor=office, pilot=active, data={"end_date": D(2026, 9, 30)}, reason="更正期限"
    )

    batch = apply_import(actor=office, batch=batch)

    assert batch.status == ImportStatus.FAILED
    assert [(e["row"], e["column"]) for e in batch.errors] == [(3, "结束日期")]
    assert not Pilot.objects.filter(name="新试点").exists()


def test_a_row_the_domain_function_refuses_while_writing_undoes_every_row_R2_4(
    active, office, monkeypatch
):
    batch = _preview(
        office,
        _sheet(_row(试点名称="新试点", 批复文号="浙环函〔2025〕120号"), _existing(试点名称="改名")),
    )
    assert batch.status == ImportStatus.PREVIEWED, batch.errors

    def refuse(**kwargs):
        raise ValidationError({"name": "名称不能更改。"})

    monkeypatch.setattr(services, "correct_ledger_pilot", refuse)
    batch = apply_import(actor=office, batch=batch)

    assert batch.status == ImportStatus.FAILED
    assert [e["text"] for e in batch.errors] == ["第3行「试点名称」：名称不能更改。"]
    assert not Pilot.objects.filter(name="新试点").exists()
    active.refresh_from_db()
    assert active.name != "改名"


def test_only_the_office_corrects_a_ledger_pilot_R2_4(active, personas):
    with pytest.raises(PermissionDenied):
        services.correct_ledger_pilot(
            actor=personas["dept"], pilot=active, data={"name": "改名"}, reason="更正"
        )
    with pytest.raises(ValidationError) as refused:
        services.correct_ledger_pilot(
            actor=personas["office"],
            pilot=active,
            data={"end_date": D(2027, 3, 31)},
            reason="更正",
        )
    assert "延期申请" in refused.value.message_dict["end_date"][0]


# --- units no longer in use -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("org", "column"),
    [("dept", "牵头部门"), ("county", "试点地区")],
)
def test_a_row_naming_an_inactive_organisation_is_refused_R2_2(org, column, orgs, office):
    Organisation.objects.filter(pk=orgs[org].pk).update(is_active=False)

    batch = _preview(office, _sheet(_row()))

    assert batch.status == ImportStatus.FAILED
    (error,) = batch.errors
    assert (error["row"], error["column"]) == (2, column)
    assert "已停用" in error["message"]


def test_a_region_made_inactive_later_keeps_its_existing_pilot_importable_R2_2(
    active, orgs, office
):
    Organisation.objects.filter(pk=orgs["county"].pk).update(is_active=False)

    batch = _preview(office, _sheet(_existing()))

    assert batch.status == ImportStatus.PREVIEWED, batch.errors


def test_a_plan_naming_an_inactive_unit_is_refused_R2_2(orgs, office):
    Organisation.objects.filter(pk=orgs["other_dept"].pk).update(is_active=False)
    data = write_workbook(
        "改革任务",
        ["领域", "序号", "改革事项", "事项内容", "主要任务", "牵头单位", "参加单位"],
        [["环境治理体系", 1, "排污许可", "", "推行一证式管理", "浙江省生态环境厅", "省水利厅"]],
    )

    batch = preview_plan_import(actor=office, upload=SimpleUploadedFile("方案.xlsx", data))

    assert batch.status == ImportStatus.FAILED
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "参加单位")]
    assert "已停用" in batch.errors[0]["message"]
    assert not ReformPlan.objects.exists()


# --- R2.3: imported reports keep their lateness --------------------------------------------


def _with_report(**cells) -> list:
    return _row(最新进展季度="2026年第一季度", 最新进展="完成首批许可证核发。", **cells)


def test_an_imported_report_is_late_by_its_submitted_date_R2_3(office):
    data = _sheet(
        _with_report(),
        _with_report(试点名称="按时报送的试点", 批复文号="浙环函〔2025〕102号"),
        reported=[D(2026, 4, 20), D(2026, 4, 9)],
    )

    batch = _preview(office, data)
    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    assert any("逾期10天" in note for note in batch.preview[0]["notes"])
    apply_import(actor=office, batch=batch)

    late = QuarterlyReport.objects.get(pilot__name__startswith="湖州")
    on_time = QuarterlyReport.objects.get(pilot__name="按时报送的试点")
    assert (late.due_date, late.days_late) == (D(2026, 4, 10), 10)
    assert on_time.days_late == 0


def test_an_imported_report_without_a_submitted_date_is_late_as_of_the_import_R2_3(office):
    apply_import(actor=office, batch=_preview(office, _sheet(_with_report())))

    report = QuarterlyReport.objects.get()
    assert report.days_late == (D(2026, 11, 16) - D(2026, 4, 10)).days


@pytest.mark.parametrize(
    ("day", "fragment"),
    [(D(2026, 3, 31), "须在该季度结束之后"), (D(2026, 12, 1), "不能晚于今天")],
)
def test_a_submitted_date_outside_what_can_be_is_refused_R2_3(day, fragment, office):
    batch = _preview(office, _sheet(_with_report(), reported=[day]))

    (error,) = batch.errors
    assert (error["row"], error["column"]) == (2, "进展报送日期")
    assert fragment in error["message"]


def test_the_import_reason_names_the_batch():
    assert batch_reason(12) == "Excel导入（批次#12）"
