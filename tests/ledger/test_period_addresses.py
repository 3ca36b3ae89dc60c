"""A quarter or half year named in an address must exist and be owed: an impossible one
answers 404, one outside the pilot's reporting span says so without a form, and opening a
half-year summary changes nothing until it is saved. The filing form shows every error at
once and caps its texts as the application form does."""

from __future__ import annotations

import datetime as dt
import pathlib
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from ledger.filing import check_filing
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from ledger.summaries import draft_half_year_summary
from pilots.constants import Status

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def on_20_july_2026(time_machine, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    time_machine.move_to(dt.datetime(2026, 7, 20, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def pilot(make_pilot, orgs):
    return make_pilot(
        code="ST-2026-9001",
        status=Status.ACTIVE,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15),
        regions=[orgs["county"]],
    )


@pytest.fixture
def dept(client_for):
    return client_for("dept")


@pytest.mark.parametrize(
    "period", ["2026/5", "2026/0", "9999/4", "0/1", "10000/1", "99999999999999999999/1"]
)
def test_an_impossible_quarter_in_the_address_is_not_found(dept, pilot, period):
    assert dept.get(f"/ledger/pilots/{pilot.code}/reports/{period}/").status_code == 404
    assert dept.post(f"/ledger/pilots/{pilot.code}/reports/{period}/").status_code == 404


@pytest.mark.parametrize("period", ["2099/1", "2019/1", "2026/3"])
def test_a_quarter_the_pilot_does_not_owe_is_said_without_a_form_R2_3(dept, pilot, period):
    year, quarter = period.split("/")
    response = dept.get(f"/ledger/pilots/{pilot.code}/reports/{period}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "不在该试点的报送期内" in text
    assert "<textarea" not in text
    assert "季度" in text and f"第{quarter}季度" not in text
    dept.post(f"/ledger/pilots/{pilot.code}/reports/{period}/", {"progress": "已完成。"})
    assert not QuarterlyReport.objects.filter(pilot=pilot).exists()


def test_an_owed_quarter_shows_its_form_R2_3(dept, pilot):
    response = dept.get(f"/ledger/pilots/{pilot.code}/reports/2026/2/")
    assert response.status_code == 200
    assert "2026年第二季度" in response.content.decode()
    assert "<textarea" in response.content.decode()


@pytest.mark.parametrize("period", ["9999/2", "0/1", "99999/1", "2026/3", "2026/0"])
def test_an_impossible_half_year_in_the_address_is_not_found(dept, period):
    assert dept.get(f"/ledger/summaries/{period}/").status_code == 404


def test_opening_a_half_year_summary_creates_nothing_until_it_is_saved_R2_3(dept, pilot):
    response = dept.get("/ledger/summaries/2026/1/")
    assert response.status_code == 200
    assert "<textarea" in response.content.decode()
    assert not HalfYearSummary.objects.exists()
    dept.post("/ledger/summaries/2026/1/", {"refresh": "1"})
    assert HalfYearSummary.objects.filter(year=2026, half=1).count() == 1


@pytest.mark.parametrize("period", ["2099/1", "2027/1"])
def test_a_half_year_that_has_not_begun_cannot_be_drafted_R2_3(dept, personas, period):
    response = dept.get(f"/ledger/summaries/{period}/", follow=True)
    assert "尚未开始，不能起草台账汇总" in response.content.decode()
    assert not HalfYearSummary.objects.exists()
    with pytest.raises(ValidationError):
        draft_half_year_summary(
            actor=personas["dept"],
            organisation=personas["dept"].organisation,
            year=2027,
            half=1,
        )


# --- The filing form ------------------------------------------------------------------------


@pytest.fixture
def approved(make_pilot, orgs):
    return make_pilot(
        status=Status.APPROVED,
        approval_date=D(2026, 7, 15),
        start_date=D(2026, 8, 1),
        end_date=D(2027, 7, 31),
        ledger_since=None,
        regions=[orgs["county"]],
    )


def filing_post(**overrides) -> dict:
    data = {
        "approval_authority": "浙江省生态环境厅",
        "approval_doc_number": "浙环函〔2026〕31号",
        "approval_date": "2026-07-15",
        "implementing_body": "杭州市西湖区人民政府",
        "start_date": "2026-08-01",
        "end_date": "2027-07-31",
        "goal": "建立生态环境损害赔偿磋商制度。",
        "measures": "制定磋商规则。",
        "expected_outcomes": "形成可复制的制度。",
        "milestones_text": "",
        "contact_person": "王明",
        "contact_phone": "0571-87654321",
        "plan": SimpleUploadedFile("试点方案.pdf", PDF, content_type="application/pdf"),
    }
    data.update(overrides)
    return data


def test_the_filing_form_shows_every_error_at_once_R2_2(dept, approved):
    response = dept.post(
        f"/ledger/pilots/{approved.code}/file/",
        filing_post(contact_phone="电话", approval_date="2099-01-01", end_date="2026-07-01"),
    )
    errors = response.context["form"].errors
    assert set(errors) >= {"contact_phone", "approval_date", "end_date"}
    assert "批复日期不能晚于今天。" in errors["approval_date"]
    assert not Filing.objects.exists()


@pytest.mark.parametrize("field", ["goal", "measures", "expected_outcomes"])
def test_filing_texts_are_capped_as_in_the_application_R2_2(dept, approved, field):
    response = dept.post(
        f"/ledger/pilots/{approved.code}/file/", filing_post(**{field: "字" * 6000})
    )
    assert "不能超过" in " ".join(response.context["form"].errors[field])
    assert not Filing.objects.exists()
    data = {k: v for k, v in filing_post(**{field: "字" * 6000}).items() if k != "plan"}
    for name in ("approval_date", "start_date", "end_date"):
        data[name] = D.fromisoformat(data[name])
    with pytest.raises(ValidationError) as refused:
        check_filing(approved, data)
    assert field in refused.value.message_dict


def test_long_unbroken_text_wraps_wherever_text_is_shown():
    css = (pathlib.Path(django_settings.BASE_DIR) / "static/css/app.css").read_text()
    assert ":is(p, dt, dd, td, li, .prose) { overflow-wrap: anywhere; }" in css
    assert "grid-template-columns: 150px minmax(0, 1fr)" in css
