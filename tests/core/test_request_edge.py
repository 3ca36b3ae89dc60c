"""The request edge: control characters in the path, query, form fields, file names, JSON
bodies and headers are answered with a Chinese 400 (404 for the path) before any view or
the database sees them; bidi controls are removed from every stored text; the browser's
User-Agent is cleaned, not refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from accounts.tokens import issue_token
from ledger.models import QuarterlyReport

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\nxref\n0 2\ntrailer<</Root 1 0 R>>\n"
    b"startxref\n9\n%%EOF\n"
)
FIELD_REFUSED = "提交的内容含有不允许的控制字符"
FIELD_CONTROL = "含有不允许的控制字符（如 NUL），请删除后重新填写。"
JSON_REFUSED = "提交的 JSON 含有不允许的控制字符"


@pytest.fixture
def pilot(settings, tmp_path, make_pilot, orgs, time_machine):
    settings.MEDIA_ROOT = tmp_path / "private"
    time_machine.move_to(dt.datetime(2026, 7, 6, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    return make_pilot(regions=[orgs["county"]], ledger_since=dt.date(2026, 1, 5))


@pytest.fixture
def report_url(pilot) -> str:
    return f"/ledger/pilots/{pilot.code}/reports/2026/2/"


@pytest.fixture
def api_key(personas) -> str:
    return issue_token(personas["dept"], "对接")[1]


def _api_post(client, url: str, payload, key: str, raw: str | None = None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False)
    return client.post(
        url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
    )


def _page_text(response) -> str:
    return response.content.decode()


# --- the path and the query string ----------------------------------------------------------


@pytest.mark.django_db
def test_nul_in_public_search_answers_400_with_a_chinese_page(client):
    response = client.get("/public/?q=%00")
    assert response.status_code == 400
    assert "查询参数含有不允许的控制字符" in _page_text(response)
    assert response.has_header("Content-Security-Policy")


@pytest.mark.django_db
def test_nul_in_calendar_feed_token_answers_404_to_anonymous(client):
    response = client.get("/calendar/feed/%00.ics")
    assert response.status_code == 404
    assert "地址含有不允许的字符" in _page_text(response)


def test_control_characters_in_a_pilot_code_answer_404_to_the_office(client, personas, pilot):
    client.force_login(personas["office"])
    for value in ("%00", "%01", "%7F", "%C2%80", "%EF%BF%BF"):
        response = client.get(f"/pilots/{value}/")
        assert response.status_code == 404, value
        assert "地址含有不允许的字符" in _page_text(response)


@pytest.mark.django_db
def test_path_segment_over_200_characters_answers_404(client):
    assert client.get("/pilots/" + "a" * 201 + "/").status_code == 404
    assert client.get("/calendar/feed/" + "a" * 300 + ".ics").status_code == 404


@pytest.mark.django_db
def test_query_string_over_4000_characters_answers_400(client):
    response = client.get("/public/?q=" + "a" * 4001)
    assert response.status_code == 400
    assert "查询参数过长" in _page_text(response)


@pytest.mark.django_db
def test_nul_in_a_query_parameter_name_answers_400(client):
    assert client.get("/public/?q%00=x").status_code == 400


def test_api_path_and_query_refusals_are_chinese_json(client, api_key, pilot):
    auth = {"HTTP_AUTHORIZATION": f"Token {api_key}"}
    response = client.get("/api/v1/pilots/?search=%00", **auth)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "控制字符" in response.json()["detail"]
    response = client.get("/api/v1/pilots/%00/", **auth)
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到该记录，或您无权查看。"}


# --- form fields and file names ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["进展\x00", "进展\x01说明", "进展\x1b", "进展\x7f", "进展\x85"])
def test_control_character_in_a_form_field_is_refused_beside_the_field_keeping_the_form(
    client, personas, report_url, value
):
    client.force_login(personas["dept"])
    response = client.post(report_url, {"progress": value, "problems": "资金不足"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["progress"] == [FIELD_CONTROL]
    assert FIELD_CONTROL in _page_text(response)
    assert "资金不足" in _page_text(response)  # what was typed is still there
    assert not QuarterlyReport.objects.exists()


def test_control_character_in_a_multipart_field_is_refused_beside_the_field(
    client, personas, report_url
):
    client.force_login(personas["dept"])
    response = client.post(
        report_url,
        {"progress": "进展\x02", "attachment": SimpleUploadedFile("进展.pdf", PDF)},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["progress"] == [FIELD_CONTROL]
    assert not QuarterlyReport.objects.exists()


def test_control_character_in_an_api_form_post_still_answers_400_json(client, api_key, pilot):
    from urllib.parse import urlencode

    response = client.post(
        f"/api/v1/pilots/{pilot.code}/reports/",
        urlencode({"year": 2026, "quarter": 2, "progress": "进展\x01"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Token {api_key}",
    )
    assert response.status_code == 400
    assert FIELD_REFUSED in response.json()["detail"]
    assert not QuarterlyReport.objects.exists()


def test_control_character_in_a_reason_read_without_a_form_changes_nothing(
    client, personas, make_pilot, orgs
):
    """The withdrawal's reason is read without a form field: the domain change is refused."""
    from pilots.constants import Status
    from pilots.models import Opinion

    pilot = make_pilot(status=Status.SUBMITTED, applicant=orgs["county"])
    client.force_login(personas["county"])
    response = client.post(f"/pilots/{pilot.code}/withdraw/", {"reason": "不再申报\x01"})
    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED
    assert not Opinion.objects.filter(pilot=pilot).exists()
    assert "控制字符" in _page_text(client.get(response["Location"]))


def test_control_character_in_a_value_read_without_a_form_is_never_stored(client, personas):
    """A token's purpose is read without a form field: the row is refused, with a message."""
    from accounts.models import ApiToken

    client.force_login(personas["dept"])
    response = client.post("/accounts/profile/tokens/", {"name": "对接\x01平台"}, follow=True)
    assert response.status_code == 200
    assert "控制字符" in _page_text(response)
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "name", ["进\x00展.pdf", "进\x07展.pdf", "进\x1b展.pdf", "进\x7f展.pdf", "进\x9b展.pdf"]
)
def test_control_character_in_an_upload_name_answers_400_and_stores_nothing(
    client, personas, report_url, settings, name
):
    client.force_login(personas["dept"])
    response = client.post(
        report_url, {"progress": "进展", "attachment": SimpleUploadedFile(name, PDF)}
    )
    assert response.status_code == 400
    assert "文件名含有控制字符" in _page_text(response)
    assert not QuarterlyReport.objects.exists()
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_control_character_in_an_api_upload_name_answers_400_json(client, api_key, pilot):
    response = client.post(
        f"/api/v1/pilots/{pilot.code}/reports/",
        {
            "year": 2026,
            "quarter": 2,
            "progress": "进展",
            "attachment": SimpleUploadedFile("进\x01展.pdf", PDF),
        },
        HTTP_AUTHORIZATION=f"Token {api_key}",
    )
    assert response.status_code == 400
    assert "文件名含有控制字符" in response.json()["detail"]
    assert not QuarterlyReport.objects.exists()


# --- JSON bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"year": 2026, "quarter": 2, "progress": "进展\\u0000"}',
        '{"year": 2026, "quarter": 2, "progress": "进展\\u0001"}',
        '{"year": 2026, "quarter": 2, "progress": "进展\\ud800"}',
        '{"year": 2026, "quarter": 2, "progress": "进展\\uffff"}',
        '{"year": 2026, "quarter": 2, "progress": "进展", "x\\u0000": 1}',
        '{"year": 2026, "quarter": 2, "progress": ["进展\\u0085"]}',
    ],
)
def test_control_character_in_a_json_body_answers_400_json(client, api_key, pilot, raw):
    response = _api_post(client, f"/api/v1/pilots/{pilot.code}/reports/", None, api_key, raw)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "提交的 JSON 含有不允许的控制字符（如 \\u0000），请删除后重新提交。"
    }
    assert not QuarterlyReport.objects.exists()


def test_json_nested_beyond_any_payload_answers_400(client, api_key, pilot):
    url = f"/api/v1/pilots/{pilot.code}/reports/"
    for depth in (40, 100_000):
        raw = "[" * depth + "]" * depth
        response = _api_post(client, url, None, api_key, raw)
        assert response.status_code == 400, depth
        assert "嵌套过深" in response.json()["detail"]


# --- headers and cookies ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", ["HTTP_X_FORWARDED_FOR", "HTTP_REFERER", "HTTP_ORIGIN", "HTTP_X_FORWARDED_PROTO"]
)
def test_control_character_in_a_used_header_answers_400(client, header):
    response = client.get("/accounts/login/", **{header: "https://x.example/\x00"})
    assert response.status_code == 400
    assert "请求头" in _page_text(response)


def test_user_agent_with_control_characters_is_stored_without_them(client, personas, password):
    response = client.post(
        "/accounts/login/",
        {"username": "office", "password": password},
        HTTP_USER_AGENT="Mozilla/5.0\x00\x1b[31m (X11)",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login")
    assert event.user_agent == "Mozilla/5.0[31m (X11)"


def test_cookie_with_control_characters_is_ignored(client, personas):
    response = client.get("/pilots/", HTTP_COOKIE="sessionid=abcdefgh\x00ijkl")
    assert response.status_code == 302  # to the sign-in page, as without a session
    assert "sessionid" not in response.wsgi_request.COOKIES


# --- bidirectional controls -------------------------------------------------------------------


def test_bidi_controls_are_removed_from_a_submitted_report(client, personas, report_url):
    client.force_login(personas["dept"])
    response = client.post(
        report_url,
        {
            # Tab and line breaks belong in multi-line text and are kept.
            "progress": "完成\u202e立法\u202c调研\r\n\t下一段",
            "problems": "\u2066资金\u2069不足\u202a",
            "next_steps": "继续\u200d推进",  # a zero-width joiner is kept
        },
    )
    assert response.status_code == 302
    report = QuarterlyReport.objects.get()
    assert report.progress.replace("\r\n", "\n") == "完成立法调研\n\t下一段"
    assert report.problems == "资金不足"
    assert report.next_steps == "继续\u200d推进"


def test_bidi_controls_are_removed_from_an_api_payload(client, api_key, pilot):
    response = _api_post(
        client,
        f"/api/v1/pilots/{pilot.code}/reports/",
        {"year": 2026, "quarter": 2, "progress": "完成\u202e调研", "problems": ["\u202d"][0]},
        api_key,
    )
    assert response.status_code == 201, response.content
    report = QuarterlyReport.objects.get()
    assert report.progress == "完成调研"
    assert report.problems == ""


def test_bidi_controls_are_removed_from_an_urlencoded_api_payload(client, api_key, pilot):
    from urllib.parse import urlencode

    response = client.post(
        f"/api/v1/pilots/{pilot.code}/reports/",
        urlencode({"year": 2026, "quarter": 2, "progress": "完成\u2067调研"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Token {api_key}",
    )
    assert response.status_code == 201, response.content
    assert QuarterlyReport.objects.get().progress == "完成调研"


@pytest.mark.django_db
def test_django_own_bad_request_page_is_in_chinese(client):
    response = client.get("/public/", HTTP_HOST="evil.example")  # not in ALLOWED_HOSTS
    assert response.status_code == 400
    assert "请求无效（400）" in _page_text(response)
