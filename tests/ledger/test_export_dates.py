"""Both Excel exports write dates as date cells in the Chinese format 2026年3月31日."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

from openpyxl import load_workbook

from core.xlsx import DATE_FORMAT_CN, write_workbook
from ledger.exports import export_ledger
from pilots.constants import Status
from pilots.models import Pilot

CN = 'yyyy"年"m"月"d"日"'


def _date_cells(data: bytes):
    sheet = load_workbook(BytesIO(data)).active
    return [c for row in sheet.iter_rows(min_row=2) for c in row if c.is_date]


def test_the_default_date_format_is_the_chinese_one():
    assert DATE_FORMAT_CN == CN
    cells = _date_cells(write_workbook("x", ["日期", "时间"], [[dt.date(2026, 3, 31), None]]))
    assert [c.number_format for c in cells] == [CN]


def test_the_ledger_export_writes_chinese_date_cells(make_pilot, orgs):
    make_pilot(status=Status.ACTIVE, ledger_since=dt.date(2026, 1, 8), regions=[orgs["county"]])
    cells = _date_cells(export_ledger(Pilot.objects.all()))
    assert cells and {c.number_format for c in cells} == {CN}


def test_the_overdue_export_writes_chinese_date_cells(make_pilot, client_for):
    from pilots import jobs

    make_pilot(status=Status.ACTIVE, end_date=dt.date(2020, 12, 31), start_date=dt.date(2020, 1, 1))
    jobs.flag_overdue(dt.date(2021, 3, 1))
    response = client_for("office").get("/pilots/overdue/export.xlsx")
    assert response.status_code == 200
    cells = _date_cells(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    assert cells and {c.number_format for c in cells} == {CN}
