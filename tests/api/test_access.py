"""Every endpoint × every persona: anonymous 401, records outside the user's slice 404 (as on
the pages), what the user may see 200, actions the user may not take 403; all in Chinese."""

from __future__ import annotations

import pytest

API = "/api/v1"
PERSONAS = ["office", "dept", "hangzhou", "ningbo", "county", "expert"]
# Who sees pilot A (environment department, Hangzhou) and pilot B (water department, Ningbo).
SEES_A = {"office", "dept", "hangzhou"}
SEES_B = {"office", "ningbo"}
PILOT_RECORDS = [
    "filings",
    "quarterly-reports",
    "closures",
    "extensions",
    "acceptance-reports",
    "evaluations",
    "inspections",
]
LISTS = [
    "organisations",
    "calls",
    "pilots",
    *PILOT_RECORDS,
    "half-year-summaries",
    "notifications",
]


@pytest.mark.parametrize("endpoint", [*LISTS, "me"])
def test_anonymous_requests_get_401_with_a_chinese_message(client, world, endpoint):
    response = client.get(f"{API}/{endpoint}/")
    assert response.status_code == 401
    assert "请先登录" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", PILOT_RECORDS)
def test_records_of_pilots_follow_the_pilot_access_gate(client_for, world, persona, endpoint):
    client = client_for(persona)
    listed = client.get(f"{API}/{endpoint}/")
    assert listed.status_code == 200
    pilots = {row["pilot"] for row in listed.json()["results"]}
    expected = {world["a"].code} if persona in SEES_A else set()
    expected |= {world["b"].code} if persona in SEES_B else set()
    assert pilots == expected
    for key, sees in (("a_records", SEES_A), ("b_records", SEES_B)):
        detail = client.get(f"{API}/{endpoint}/{world[key][endpoint]}/")
        assert detail.status_code == (200 if persona in sees else 404)
    missing = client.get(f"{API}/{endpoint}/999999/")
    assert missing.status_code == 404
    assert "未找到" in missing.json()["detail"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_pilots_list_and_detail_follow_the_access_gate(client_for, world, persona):
    client = client_for(persona)
    codes = {row["code"] for row in client.get(f"{API}/pilots/").json()["results"]}
    expected = {world["a"].code} if persona in SEES_A else set()
    expected |= {world["b"].code} if persona in SEES_B else set()
    assert codes == expected
    for pilot, sees in ((world["a"], SEES_A), (world["b"], SEES_B)):
        response = client.get(f"{API}/pilots/{pilot.code}/")
        assert response.status_code == (200 if persona in sees else 404)
        if persona in sees:
            assert response.json()["name"] == pilot.name


@pytest.mark.parametrize("persona", PERSONAS)
def test_half_year_summaries_office_and_their_department_only(client_for, world, persona):
    client = client_for(persona)
    ids = [row["id"] for row in client.get(f"{API}/half-year-summaries/").json()["results"]]
    sees = persona in {"office", "dept"}
    assert ids == ([world["summary"]] if sees else [])
    detail = client.get(f"{API}/half-year-summaries/{world['summary']}/")
    assert detail.status_code == (200 if sees else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_notifications_are_the_users_organisation_own(client_for, world, persona):
    client = client_for(persona)
    ids = [row["id"] for row in client.get(f"{API}/notifications/").json()["results"]]
    assert ids == ([world["notice"]] if persona == "dept" else [])
    detail = client.get(f"{API}/notifications/{world['notice']}/")
    assert detail.status_code == (200 if persona == "dept" else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_reference_data_is_readable_by_every_signed_in_user(client_for, world, persona):
    client = client_for(persona)
    assert client.get(f"{API}/organisations/hangzhou/").json()["kind"] == "prefecture"
    assert client.get(f"{API}/calls/{world['call']}/").json()["title"] == "2026年申报批次"
    me = client.get(f"{API}/me/").json()
    assert me["username"] == persona


REFUSED = [
    # (persona, method path, body, expected) — each persona sees the record but may not act.
    ("hangzhou", "pilots/{a}/closure/", {"results": "完成", "experience": "经验"}, 403),
    ("office", "pilots/{a}/reports/", {"year": 2026, "quarter": 1, "progress": "进展"}, 403),
    ("dept", "filings/{a_filing}/confirm/", {}, 403),
    ("dept", "closures/{a_closure}/accept/", {}, 403),
    ("dept", "extensions/{a_extension}/approve/", {}, 403),
    ("dept", "pilots/{a}/restore/", {"reason": "误清理"}, 403),
    ("expert", "calls/", {"title": "批次", "deadline": "2027-01-01T00:00:00+08:00"}, 403),
    ("county", "pilots/{a}/restore/", {"reason": "误清理"}, 404),
    ("ningbo", "closures/{a_closure}/accept/", {}, 404),
]


@pytest.mark.parametrize(("persona", "path", "body", "expected"), REFUSED)
def test_actions_refuse_who_may_not_act_and_change_nothing(
    client_for, world, persona, path, body, expected
):
    from pilots.models import Pilot

    before = Pilot.history.count()
    url = f"{API}/" + path.format(
        a=world["a"].code,
        a_filing=world["a_records"]["filings"],
        a_closure=world["a_records"]["closures"],
        a_extension=world["a_records"]["extensions"],
    )
    response = client_for(persona).post(url, body, content_type="application/json")
    assert response.status_code == expected
    detail = response.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail)
    assert Pilot.history.count() == before


def test_errors_are_chinese_whatever_language_the_client_asks_for(client_for, world):
    client = client_for("office")
    response = client.post(
        f"{API}/pilots/{world['a'].code}/restore/",
        {},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["reason"] == ["此项为必填项。"]
    assert body["detail"].startswith("提交的数据有误")
    bad_json = client.post(
        f"{API}/pilots/{world['a'].code}/restore/",
        "{not json",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad_json.status_code == 400 and "无法解析" in bad_json.json()["detail"]
    method = client.get(f"{API}/pilots/{world['a'].code}/restore/", HTTP_ACCEPT_LANGUAGE="en")
    assert method.status_code == 405 and "不支持 GET" in method.json()["detail"]
    filtered = client.get(f"{API}/pilots/", {"status": "bogus"}, HTTP_ACCEPT_LANGUAGE="en")
    assert filtered.status_code == 400 and "status" in filtered.json()["errors"]


def test_domain_rule_refusals_come_back_as_400_with_the_rules_message(client_for, world):
    # R2.4: only a purged pilot can be restored; the domain function says so.
    response = client_for("office").post(
        f"{API}/pilots/{world['a'].code}/restore/",
        {"reason": "误清理"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "恢复入库" in response.json()["detail"]


def test_lists_filter_search_order_and_page(client_for, world, make_pilot, orgs):
    for n in range(3):
        make_pilot(name=f"丙试点{n}", regions=[orgs["hangzhou"]])
    client = client_for("office")
    page = client.get(f"{API}/pilots/", {"page_size": 2, "ordering": "name"}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]
    assert [r["name"] for r in page["results"]] == sorted(r["name"] for r in page["results"])
    found = client.get(f"{API}/pilots/", {"search": "丙试点1"}).json()
    assert [r["name"] for r in found["results"]] == ["丙试点1"]
    ningbo = client.get(f"{API}/pilots/", {"prefecture": "ningbo"}).json()
    assert [r["code"] for r in ningbo["results"]] == [world["b"].code]
    water = client.get(f"{API}/pilots/", {"lead_department": "dept-water"}).json()
    assert [r["code"] for r in water["results"]] == [world["b"].code]
    bad_page = client.get(f"{API}/pilots/", {"page": 99})
    assert bad_page.status_code == 404 and "页码无效" in bad_page.json()["detail"]


def test_list_query_count_does_not_grow_with_pilots(client_for, world, make_pilot, orgs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for("office")
    with CaptureQueriesContext(connection) as few:
        client.get(f"{API}/pilots/")
    for n in range(20):
        make_pilot(name=f"丁试点{n}", regions=[orgs["hangzhou"], orgs["county"]])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{API}/pilots/").json()["results"]) == 22
    assert len(many) == len(few)


def test_schema_and_docs_are_served_from_the_product_itself(client_for, world):
    client = client_for("office")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["info"]["title"] == "改革试点台账 REST API"
    assert "/api/v1/pilots/{code}/approve/" in spec["paths"]
    assert "tokenAuth" in spec["components"]["securitySchemes"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn.jsdelivr" not in html


def test_the_schema_is_saved_under_its_chinese_title_and_audited_by_that_name(client_for, world):
    from urllib.parse import quote

    from accounts.models import AuditEvent

    client = client_for("office")
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema["Content-Disposition"] == (
        f"inline; filename*=UTF-8''{quote('改革试点台账 REST API.json')}"
    )
    event = AuditEvent.objects.filter(action="export").latest("pk")
    assert event.summary == "导出“改革试点台账 REST API.json”"


def test_a_plain_chinese_file_name_header_is_audited_decoded(rf, personas):
    """A view that writes `filename="…"` in Chinese gets its header MIME-encoded by Django
    (`=?utf-8?b?…?=`); the audit log still reads the name as the user saw it."""
    from django.http import HttpResponse

    from accounts.middleware import AuditDownloadsMiddleware
    from accounts.models import AuditEvent

    def view(request):
        return HttpResponse(b"{}", headers={"Content-Disposition": 'inline; filename="台账.json"'})

    request = rf.get("/ledger/x/")
    request.user = personas["office"]
    response = AuditDownloadsMiddleware(view)(request)
    assert response["Content-Disposition"].startswith("=?utf-8?")
    assert AuditEvent.objects.latest("pk").summary == "导出“台账.json”"


def test_schema_generates_without_warnings():
    from django.core.management import call_command

    # --fail-on-warn turns any unresolved type, name clash or error into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_control_characters_in_codes_and_search_are_refused_not_sent_to_the_database(
    client_for, world
):
    client = client_for("county")
    response = client.post(
        f"{API}/pilots/",
        {"call": world["call"], "regions": ["hz\x00"], "lead_department": "dept\x00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    # Refused by the request filter before any view, or by the form input's own check.
    body = response.json()
    assert "控制字符" in body["detail"] or "单位代码无效" in str(body["errors"]["regions"])
    search = client_for("office").get(f"{API}/pilots/", {"search": "a\x00b"})
    assert search.status_code == 400 and "控制字符" in search.json()["detail"]
