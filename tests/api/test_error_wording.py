"""The API answers every refusal in JSON with the product's Chinese wording: a checklist sent
as a list or a boolean, a missing or null field, and an address no route answers."""

from __future__ import annotations

import pytest

from pilots.constants import Status

API = "/api/v1"


@pytest.fixture
def submitted(make_pilot, orgs):
    return make_pilot(name="甲试点", regions=[orgs["county"]], status=Status.SUBMITTED)


def _endorse(client, pilot, auth, body):
    return client.post(
        f"{API}/pilots/{pilot.code}/endorse/", body, content_type="application/json", **auth
    )


@pytest.mark.parametrize("checklist", [["elements"], True])
def test_a_checklist_that_is_not_an_object_is_refused_in_the_products_words(
    client, submitted, token_for, checklist
):
    answer = _endorse(client, submitted, token_for("hangzhou"),
                      {"opinion": "同意推荐。", "checklist": checklist})  # fmt: skip
    assert answer.status_code == 400
    body = answer.json()
    message = "准入审查应为逐项填写的对象（各项：是/否）。"
    assert body["errors"]["checklist"]["non_field_errors"] == [message]
    assert message in body["detail"]
    assert "期待为字典类型" not in answer.content.decode()


def test_missing_null_and_wrongly_typed_fields_are_refused_in_the_products_words(
    client, submitted, token_for
):
    answer = _endorse(client, submitted, token_for("hangzhou"),
                      {"opinion": None, "checklist": {"elements": {"ok": "也许"}}})  # fmt: skip
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert errors["opinion"] == ["此项不能为 null，请填写。"]
    assert errors["checklist"]["elements"]["ok"] == ["应为是或否（true/false）。"]
    assert errors["checklist"]["institutional"] == ["此项为必填项。"]


@pytest.mark.parametrize("path", ["/api/v1/users/", "/api/v1/filings/-1/", "/api/nowhere"])
def test_an_unknown_api_address_answers_json_404_in_chinese(client, token_for, path):
    answer = client.get(path, **token_for("office"))
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("application/json")
    assert "接口地址不存在" in answer.json()["detail"]


def test_a_method_an_api_route_does_not_take_answers_json_405_in_chinese(client, token_for):
    answer = client.delete(f"{API}/pilots/", **token_for("office"))
    assert answer.status_code == 405
    assert "不支持 DELETE 请求" in answer.json()["detail"]
