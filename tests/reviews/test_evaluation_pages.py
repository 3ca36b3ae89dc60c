"""The scorecard and evaluation pages (R3.2): the office defines a scorecard in the browser's
form; the lead department records an evaluation and reads its breakdown; others are refused;
bad input gets Chinese messages and saves nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reviews.constants import Rating
from reviews.models import Evaluation, Scorecard

D = dt.date


def _scorecard_post(**overrides) -> dict:
    data = {
        "name": "改革试点评估评分表",
        "effort_share": "25",
        "five_stars": "90",
        "four_stars": "80",
        "three_stars": "70",
        "vetoes": "发生重大生态环境破坏事件",
        "denials": "约束性指标连续两年未达标",
        "ind-TOTAL_FORMS": "8",
        "ind-INITIAL_FORMS": "0",
        "ind-MIN_NUM_FORMS": "0",
        "ind-MAX_NUM_FORMS": "40",
        "ind-0-title": "环境质量达标率",
        "ind-0-kind": "constraint",
        "ind-0-method": "completion",
        "ind-0-weight": "30",
        "ind-1-title": "长效机制",
        "ind-1-kind": "reference",
        "ind-1-method": "stability",
        "ind-1-weight": "10",
    }
    data.update(overrides)
    return data


@pytest.fixture
def card(client_for) -> Scorecard:
    response = client_for("office").post("/reviews/scorecards/new/", _scorecard_post())
    card = Scorecard.objects.get()
    assert response["Location"] == f"/reviews/scorecards/{card.pk}/"
    return card


@pytest.fixture
def pilot(make_pilot, orgs):
    return make_pilot(ledger_since=D(2026, 1, 10), regions=[orgs["county"]])


def _evaluation_post(card, completion="100", stability="100", effort="80", **overrides):
    first, second = card.indicators.order_by("number")
    data = {
        "scorecard": str(card.pk),
        "stage": "stage",
        "evaluator": "self",
        "evaluated_on": "2026-06-30",
        "effort": effort,
        f"ind_{first.pk}": completion,
        f"ind_{second.pk}": stability,
    }
    data.update(overrides)
    return data


def test_the_office_defines_a_scorecard_in_the_form_R3_2(card, client_for):
    assert [i.title for i in card.indicators.order_by("number")] == ["环境质量达标率", "长效机制"]
    assert {(c.kind, c.text) for c in card.criteria.all()} == {
        ("veto", "发生重大生态环境破坏事件"),
        ("deny_excellent", "约束性指标连续两年未达标"),
    }
    page = client_for("dept").get(f"/reviews/scorecards/{card.pk}/").content.decode()
    assert "环境质量达标率" in page and "约束性指标" in page and "否决项" in page


def test_a_scorecard_whose_reference_weighs_more_is_refused_in_the_form_R3_2(client_for):
    response = client_for("office").post(
        "/reviews/scorecards/new/", _scorecard_post(**{"ind-1-weight": "40"})
    )
    assert response.status_code == 200
    assert "约束性指标的权重须高于参考性指标的权重。" in response.content.decode()
    assert not Scorecard.objects.exists()


def test_the_lead_department_records_an_evaluation_and_reads_its_breakdown_R3_2(
    card, pilot, client_for
):
    client = client_for("dept")
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert f"/reviews/pilots/{pilot.code}/evaluate/" in page
    form = client.get(f"/reviews/pilots/{pilot.code}/evaluate/").content.decode()
    assert "机制健全、稳定运行" in form and "发生重大生态环境破坏事件" in form

    response = client.post(f"/reviews/pilots/{pilot.code}/evaluate/", _evaluation_post(card))
    evaluation = Evaluation.objects.get()
    assert response["Location"] == f"/reviews/evaluations/{evaluation.pk}/"
    # 0.75 × (30·100 + 10·100) / 40 + 0.25 × 80 = 95.0
    assert (evaluation.score, evaluation.rating) == (Decimal("95.0"), Rating.FIVE)
    page = client.get(response["Location"]).content.decode()
    assert "95.0分" in page and "五星" in page and "75.0" in page and "20.0" in page
    assert "五星" in client.get(pilot.get_absolute_url()).content.decode()


def test_a_veto_found_in_the_form_cancels_the_star_R3_2(card, pilot, client_for):
    veto = card.criteria.get(kind="veto")
    client_for("dept").post(
        f"/reviews/pilots/{pilot.code}/evaluate/",
        _evaluation_post(card, criteria=[str(veto.pk)]),
    )
    assert Evaluation.objects.get().rating == Rating.CANCELLED


def test_bad_scores_get_chinese_messages_and_save_nothing_R3_2(card, pilot, client_for):
    response = client_for("dept").post(
        f"/reviews/pilots/{pilot.code}/evaluate/",
        _evaluation_post(card, completion="150", stability="55", effort="abc"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "完成度指标按目标完成比例评分，应在0至100之间。" in page  # completion above 100
    assert "请从列表中选择。" in page  # stability is scored by level
    assert "请输入数字。" in page  # effort
    assert not Evaluation.objects.exists()
    response = client_for("dept").post(
        f"/reviews/pilots/{pilot.code}/evaluate/",
        _evaluation_post(card, evaluator="third_party"),
    )
    assert "请填写第三方评估机构名称" in response.content.decode()
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize("who", ["hangzhou", "county", "expert"])
def test_only_the_lead_department_or_office_evaluates_in_the_pages_R3_2(
    card, pilot, client_for, who
):
    client = client_for(who)
    response = client.get(f"/reviews/pilots/{pilot.code}/evaluate/")
    assert response.status_code in (403, 404)
    assert client.post(
        f"/reviews/pilots/{pilot.code}/evaluate/", _evaluation_post(card)
    ).status_code in (403, 404)
    assert (
        client.post("/reviews/scorecards/new/", _scorecard_post(name="另一个")).status_code == 403
    )
    assert not Evaluation.objects.exists()
    assert Scorecard.objects.count() == 1


def test_an_evaluation_of_a_pilot_one_may_not_see_is_404(card, pilot, client_for, make_pilot, orgs):
    client_for("dept").post(f"/reviews/pilots/{pilot.code}/evaluate/", _evaluation_post(card))
    evaluation = Evaluation.objects.get()
    assert client_for("ningbo").get(f"/reviews/evaluations/{evaluation.pk}/").status_code == 404
    assert client_for("hangzhou").get(f"/reviews/evaluations/{evaluation.pk}/").status_code == 200


def test_the_evaluation_report_prints_as_a_pdf_with_chinese_text_R3_2(card, pilot, client_for):
    import io

    from pypdf import PdfReader

    client = client_for("dept")
    client.post(f"/reviews/pilots/{pilot.code}/evaluate/", _evaluation_post(card))
    evaluation = Evaluation.objects.get()
    response = client.get(f"/reviews/evaluations/{evaluation.pk}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "阶段评估报告" in text and "环境质量达标率" in text and "95.0" in text
    assert "五星" in text
    assert (
        client_for("ningbo").get(f"/reviews/evaluations/{evaluation.pk}/report.pdf").status_code
        == 404
    )
