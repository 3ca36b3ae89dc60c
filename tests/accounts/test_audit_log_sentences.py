"""The audit log reads as sentences: when, who (unit and name), what was done to which
record, with decoded file names and Chinese model names; filtered by person, action, record
and dates picked from a calendar."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from accounts.audit import record
from accounts.audit_views import line_of, model_label, who_of
from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent
from core.history import save_with_history
from pilots.constants import Status
from tests.factories import UserFactory


@pytest.fixture
def auditor(orgs):
    return UserFactory(
        username="auditor", organisation=orgs["office"], role=Role.AUDITOR, display_name="方敏"
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_change_reads_as_a_sentence_with_the_person_the_record_and_the_fields(
    make_pilot, personas, orgs
):
    office = personas["office"]
    office.display_name = "张三"
    office.save()
    pilot = make_pilot(code="ST-2026-0001", status=Status.APPROVED)
    pilot.status = Status.FILING_SUBMITTED
    save_with_history(pilot, actor=office, reason="报送备案")
    event = AuditEvent.objects.filter(
        object_type="pilots.pilot", object_id=str(pilot.pk), summary__startswith="修改"
    ).first()
    line = line_of(event)
    assert line.who == "省办 张三"
    assert line.what.startswith(f"修改了 {model_label('pilots.pilot')} ST-2026-0001")
    assert "状态 已批复待备案 → 备案待确认" in line.what
    assert line.what.endswith("（理由：报送备案）")
    assert re.match(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} 省办 张三 修改了 ", line.sentence)


def test_the_page_shows_sentences_decoded_names_and_chinese_models(client, auditor, personas):
    record(
        AuditAction.DOWNLOAD,
        "下载文件“%E8%AF%95%E7%82%B9%E6%96%B9%E6%A1%88.pdf”",
        user=personas["dept"],
        object_type="pilots.pilot",
        object_id="7",
    )
    record(
        AuditAction.UPLOAD, "上传文件 filings/2026/abc/方案.pdf（2048 字节）", user=personas["dept"]
    )
    client.force_login(auditor)
    page = client.get("/audit/").content.decode()
    text = _text(page)
    assert "下载了文件“试点方案.pdf”" in text
    assert "%E8" not in text
    assert "上传了文件“方案.pdf”（2.0 KB）" in text and "filings/2026" not in text
    assert "改革试点 第7号" in text and "pilots.pilot" not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert 'type="date"' in page and 'name="since"' in page and 'name="until"' in page


def test_the_log_filters_by_person_action_record_and_dates(client, auditor, personas):
    record(AuditAction.EXPORT, "导出台账", user=personas["dept"], object_type="pilots.pilot")
    record(AuditAction.EXPORT, "导出台账", user=personas["ningbo"], object_type="pilots.pilot")
    record(AuditAction.LOGIN, "登录成功", user=personas["dept"])
    client.force_login(auditor)
    dept = personas["dept"].pk

    def rows(query: str) -> int:
        response = client.get(f"/audit/?{query}")
        return response.context["page"].paginator.count

    assert rows(f"person={dept}") == 2
    assert rows(f"person={dept}&action=export") == 1
    assert rows("object_type=pilots.pilot") == 2
    today = timezone.localdate().isoformat()
    assert rows(f"since={today}&until={today}") >= 3
    assert rows("until=2000-01-01") == 0
    page = client.get("/audit/").content.decode()
    assert "全部人员" in page and "全部记录类型" in page


def test_a_visitor_not_signed_in_is_not_called_the_system(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200 and response.has_header("Content-Disposition")
    download = AuditEvent.objects.latest("pk")
    assert download.user is None and download.path == "/api/schema/"
    assert who_of(download) == "未登录的访问者"
    record(AuditAction.EXPORT, "导出“定时任务”")  # no request: a job or a command
    assert who_of(AuditEvent.objects.latest("pk")) == "系统"
