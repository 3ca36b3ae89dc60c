"""Promotion (R3.4, N3): promotion reports, the office's recognitions, list editions drafted and
published with only the chosen columns, and the public page that shows published editions
and nothing else — checked against a draft and an internal report planted beside them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from pilots.constants import Status
from reviews import promotion
from reviews.constants import ListStatus, RecognitionKind
from reviews.models import ListEntry, PromotionReport, PublishedList, Recognition

D = dt.date
SECRET = "内部意见：该试点资金使用存在问题"


@pytest.fixture
def pilots(make_pilot, orgs):
    shown = make_pilot(
        code="ST-2025-0101",
        name="安吉县生态产品价值实现机制试点",
        ledger_since=D(2025, 3, 1),
        regions=[orgs["county"]],
    )
    hidden = make_pilot(code="ST-2025-0102", name="未发布的草稿试点", ledger_since=D(2025, 3, 1))
    return shown, hidden


@pytest.fixture
def published(pilots, personas):
    """One published edition with the first pilot; a draft with the second; an internal
    promotion report beside them."""
    shown, hidden = pilots
    office = personas["office"]
    promotion.report_promotion(
        actor=personas["dept"], pilot=shown, text=SECRET, adopted_by="湖州市各县区"
    )
    first = promotion.recognise(
        actor=office,
        pilot=shown,
        kind=RecognitionKind.DEMONSTRATION,
        summary="建立生态产品价值核算和“两山银行”交易机制。",
        document="《安吉县生态产品价值实现办法》（安政发〔2025〕3号）",
    )
    edition = promotion.draft_list(
        actor=office,
        title="2025年第一批示范案例清单",
        fields=["regions", "summary"],
        recognitions=[first],
    )
    promotion.publish_list(actor=office, edition=edition, today=D(2025, 12, 1))
    second = promotion.recognise(
        actor=office, pilot=hidden, kind=RecognitionKind.REPLICABLE, summary="草稿经验。"
    )
    promotion.draft_list(
        actor=office, title="2026年清单（草稿）", fields=["summary"], recognitions=[second]
    )
    return edition


def test_the_lead_department_reports_promotion_and_the_office_is_told_R3_4(pilots, personas, orgs):
    shown, _ = pilots
    report = promotion.report_promotion(
        actor=personas["dept"], pilot=shown, text="已在湖州市推广。", adopted_by="湖州市"
    )
    assert report.history.get().history_change_reason == "报送推广情况"
    assert Notification.objects.filter(
        organisation=orgs["office"], subject__startswith="推广情况报告"
    ).exists()
    for who in ("office", "hangzhou", "county"):
        with pytest.raises(PermissionDenied):
            promotion.report_promotion(actor=personas[who], pilot=shown, text="x")
    with pytest.raises(ValidationError, match="请填写复制推广情况"):
        promotion.report_promotion(actor=personas["dept"], pilot=shown, text="  ")
    assert PromotionReport.objects.count() == 1


def test_only_the_office_recognises_and_a_pilot_not_in_the_ledger_cannot_be_R3_4(
    make_pilot, pilots, personas
):
    shown, _ = pilots
    with pytest.raises(PermissionDenied):
        promotion.recognise(
            actor=personas["dept"], pilot=shown, kind=RecognitionKind.REPLICABLE, summary="x"
        )
    draft = make_pilot(status=Status.APPROVED, ledger_since=None)
    with pytest.raises(ValidationError, match="尚无可推广的经验"):
        promotion.recognise(
            actor=personas["office"], pilot=draft, kind=RecognitionKind.REPLICABLE, summary="x"
        )
    first = promotion.recognise(
        actor=personas["office"], pilot=shown, kind=RecognitionKind.REPLICABLE, summary="初稿"
    )
    again = promotion.recognise(
        actor=personas["office"],
        pilot=shown,
        kind=RecognitionKind.REPLICABLE,
        summary="修改后的经验",
        document="某规范性文件",
    )
    assert again.pk == first.pk and again.summary == "修改后的经验"
    assert [h.history_change_reason for h in again.history.order_by("history_id")] == [
        "认定为可复制可推广经验",
        "更新推广认定",
    ]


def test_a_published_edition_keeps_only_the_chosen_columns_and_never_changes_R3_4(
    published, pilots, personas
):
    shown, _ = pilots
    entry = published.entries.get()
    assert entry.values == {
        "regions": "杭州市生态环境局西湖分局",
        "summary": "建立生态产品价值核算和“两山银行”交易机制。",
    }
    assert "document" not in entry.values and "lead_department" not in entry.values
    # A later change of the recognition does not rewrite the published edition.
    promotion.recognise(
        actor=personas["office"],
        pilot=shown,
        kind=RecognitionKind.DEMONSTRATION,
        summary="后来改写的经验",
    )
    entry.refresh_from_db()
    assert entry.values["summary"] == "建立生态产品价值核算和“两山银行”交易机制。"
    with pytest.raises(ValidationError, match="已发布"):
        promotion.publish_list(actor=personas["office"], edition=published)
    with pytest.raises(PermissionDenied):
        promotion.draft_list(
            actor=personas["dept"], title="x", fields=[], recognitions=[shown.recognitions.get()]
        )


def test_the_public_page_shows_published_editions_and_leaks_nothing_else_N3_R3_4(published, client):
    index = client.get("/public/")
    assert index.status_code == 200  # no login
    page = index.content.decode()
    assert "2025年第一批示范案例清单" in page
    assert "2026年清单（草稿）" not in page
    edition = client.get(f"/public/lists/{published.pk}/").content.decode()
    assert "安吉县生态产品价值实现机制试点" in edition and "两山银行" in edition
    assert "示范案例" in edition
    for leaked in ("未发布的草稿试点", "草稿经验", SECRET, "湖州市各县区", "安政发"):
        assert leaked not in page and leaked not in edition
    draft = PublishedList.objects.get(status=ListStatus.DRAFT)
    assert client.get(f"/public/lists/{draft.pk}/").status_code == 404
    search = client.get("/public/?q=草稿").content.decode()
    assert "未发布的草稿试点" not in search and "没有找到" in search
    found = client.get("/public/?q=安吉").content.decode()
    assert "安吉县生态产品价值实现机制试点" in found


def test_the_office_drafts_and_publishes_a_list_in_the_pages_R3_4(pilots, personas, client_for):
    shown, _ = pilots
    office = client_for("office")
    response = office.post(
        f"/reviews/pilots/{shown.code}/recognise/",
        {"kind": "replicable", "summary": "经验做法甲", "document": ""},
    )
    assert response.status_code == 302
    recognition = Recognition.objects.get()
    response = office.post(
        "/reviews/promotion/",
        {"title": "2026年第一批清单", "fields": ["summary"], "recognitions": [recognition.pk]},
    )
    edition = PublishedList.objects.get()
    assert response["Location"] == f"/reviews/lists/{edition.pk}/"
    assert client_for(None).get(f"/public/lists/{edition.pk}/").status_code == 404
    office = client_for("office")
    office.post(f"/reviews/lists/{edition.pk}/publish/")
    edition.refresh_from_db()
    assert edition.status == ListStatus.PUBLISHED
    public = client_for(None).get(f"/public/lists/{edition.pk}/").content.decode()
    assert shown.name in public and "经验做法甲" in public


@pytest.mark.parametrize("who", ["dept", "hangzhou", "county", "expert"])
def test_only_the_office_sees_drafts_and_publishes_R3_4(published, client_for, who):
    draft = PublishedList.objects.get(status=ListStatus.DRAFT)
    client = client_for(who)
    assert client.get("/reviews/promotion/").status_code == 403
    assert client.get(f"/reviews/lists/{draft.pk}/").status_code == 403
    assert client.post(f"/reviews/lists/{draft.pk}/publish/").status_code == 403
    draft.refresh_from_db()
    assert draft.status == ListStatus.DRAFT
    assert ListEntry.objects.count() == 2


def test_the_pilot_page_offers_each_side_its_promotion_form_R3_4(pilots, client_for):
    shown, _ = pilots
    dept = client_for("dept").get(shown.get_absolute_url()).content.decode()
    assert f"/reviews/pilots/{shown.code}/promotion/" in dept
    assert f"/reviews/pilots/{shown.code}/recognise/" not in dept
    office = client_for("office").get(shown.get_absolute_url()).content.decode()
    assert f"/reviews/pilots/{shown.code}/recognise/" in office
    assert f"/reviews/pilots/{shown.code}/promotion/" not in office
    county = client_for("county").get(shown.get_absolute_url()).content.decode()
    assert "/promotion/" not in county and "/recognise/" not in county
