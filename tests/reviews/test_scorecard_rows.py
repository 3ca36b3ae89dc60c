"""The scorecard form (R3.2): indicator rows added and removed on the page, kept without
script; one message in the product's words for a value out of range."""

from __future__ import annotations

import re
from html import unescape

import pytest

from reviews.models import Evaluation, Scorecard
from tests.reviews.test_evaluation_pages import _evaluation_post, _scorecard_post

URL = "/reviews/scorecards/new/"


@pytest.fixture
def card(client_for) -> Scorecard:
    client_for("office").post(URL, _scorecard_post())
    return Scorecard.objects.get()


@pytest.fixture
def pilot(make_pilot, orgs):
    import datetime as dt

    return make_pilot(ledger_since=dt.date(2026, 1, 10), regions=[orgs["county"]])


def _errors(html: str) -> list[str]:
    return [unescape(e) for e in re.findall(r'<div class="error">([^<]*)</div>', html)]


def test_the_form_has_an_empty_row_template_and_the_buttons(client_for):
    html = client_for("office").get(URL).content.decode()
    template = html[html.index("<template data-formset-template>") :]
    template = template[: template.index("</template>")]
    assert 'name="ind-__prefix__-title"' in template
    assert 'name="ind-__prefix__-weight"' in template
    assert "添加一行" in html and "data-formset-remove" in html
    # Without script the eight empty rows remain.
    assert 'name="ind-7-title"' in html
    assert "js/forms.js" in html


def test_rows_added_beyond_the_extra_ones_are_saved(client_for):
    rows = {"ind-TOTAL_FORMS": "10"}
    for i in range(2, 10):
        rows.update(
            {
                f"ind-{i}-title": f"指标{i}",
                f"ind-{i}-kind": "reference",
                f"ind-{i}-method": "completion",
                f"ind-{i}-weight": "1",
            }
        )
    response = client_for("office").post(URL, _scorecard_post(**rows))
    assert response.status_code == 302
    card = Scorecard.objects.get()
    assert card.indicators.count() == 10
    assert card.indicators.order_by("number").last().title == "指标9"


def test_a_removed_row_is_emptied_and_not_saved(client_for):
    # The page empties a removed row: its fields arrive blank (the select with nothing chosen).
    response = client_for("office").post(
        URL,
        _scorecard_post(
            **{"ind-1-title": "", "ind-1-weight": "", "ind-1-kind": "", "ind-1-method": ""}
        ),
    )
    assert response.status_code == 302
    assert Scorecard.objects.get().indicators.count() == 1


@pytest.mark.parametrize("value", ["-50", "150"])
def test_a_threshold_out_of_range_gets_one_error(client_for, value):
    response = client_for("office").post(URL, _scorecard_post(five_stars=value))
    assert response.status_code == 200
    assert _errors(response.content.decode()) == ["分数线应在0至100之间。"]
    assert not Scorecard.objects.exists()


def test_a_negative_weight_gets_one_error(client_for):
    response = client_for("office").post(URL, _scorecard_post(**{"ind-0-weight": "-50"}))
    assert _errors(response.content.decode()) == ["权重应大于0。"]
    assert not Scorecard.objects.exists()


def test_thresholds_out_of_order_are_named_beside_the_field(client_for):
    response = client_for("office").post(URL, _scorecard_post(three_stars="95"))
    assert _errors(response.content.decode()) == ["分数线应为五星 > 四星 > 三星 > 0。"]


def test_a_negative_score_gets_one_error(card, pilot, client_for):
    response = client_for("dept").post(
        f"/reviews/pilots/{pilot.code}/evaluate/",
        _evaluation_post(card, completion="-50", effort="-50"),
    )
    assert response.status_code == 200
    assert _errors(response.content.decode()) == [
        "完成度指标按目标完成比例评分，应在0至100之间。",
        "应在0至100之间。",
    ]
    assert "确保" not in response.content.decode()
    assert not Evaluation.objects.exists()
