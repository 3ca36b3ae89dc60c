"""The Excel import journey in the browser: the office uploads the sample reform plan, reads
the preview, confirms and reads the plan as a tree; a ledger workbook with a bad row shows the
error table and imports nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.orgdata import ensure_plan_units
from core.xlsx import write_workbook
from ledger.constants import ImportStatus
from ledger.import_views import SAMPLE_PLAN
from ledger.models import ImportBatch, ReformPlan
from ledger.selectors import LEDGER_HEADERS
from pilots.models import Pilot
from tests.factories import ledger_sheet_row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = dt.date


def test_the_office_imports_the_sample_reform_plan(page, login, nav, shot, personas):
    ensure_plan_units()
    login("office")
    nav("导入")
    page.wait_for_url("**/ledger/import/")
    page.get_by_label("改革实施方案").check()
    page.set_input_files("#id_file", str(SAMPLE_PLAN))
    page.get_by_role("button", name="上传并预览").click()
    page.wait_for_url("**/ledger/import/*/")
    assert page.get_by_role("button", name="确认导入").is_visible()
    shot("plan-preview")
    page.get_by_role("button", name="确认导入").click()
    page.wait_for_url("**/ledger/plans/*/")
    plan = ReformPlan.objects.get()
    assert page.get_by_role("heading", name=plan.name).is_visible()
    assert page.get_by_text("改革事项36项").is_visible()
    shot("plan-tree")


def test_a_ledger_workbook_with_a_bad_row_shows_its_errors_and_imports_nothing(
    page, login, shot, personas, tmp_path
):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(
        write_workbook(
            "改革试点台账",
            LEDGER_HEADERS,
            [ledger_sheet_row(), ledger_sheet_row(试点名称="错误行试点", 牵头部门="不存在的厅")],
        )
    )
    login("office")
    page.goto("/ledger/import/")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="上传并预览").click()
    page.wait_for_url("**/ledger/import/*/")
    error_row = page.locator("tr", has_text="不存在的厅").first
    assert error_row.is_visible() and "牵头部门" in error_row.inner_text()
    assert page.get_by_role("button", name="确认导入").count() == 0
    shot("errors")
    assert ImportBatch.objects.get().status == ImportStatus.FAILED
    assert not Pilot.objects.exists()
