"""The API enforces exactly what the pages' forms enforce (one validation): for each payload
below — valid, or broken in one way — the page and the API both accept it or both refuse it,
applications (N3) and directly entered pilots (R2.2) alike; the API refuses with 400 JSON and
Chinese messages under the form's field names. And the API enters a state- or
ministry-deployed pilot directly, as the page does, with the page's permissions. Where a page's
form and the API take the same fields, both take them from one tuple, and cannot drift."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

import api.serializers
from accounts.models import Organisation
from api.serializers.calls import ApplicationSerializer
from api.serializers.common import FormInputSerializer
from api.serializers.ledger import (
    FilingInputSerializer,
    QuarterlyReportInputSerializer,
    SummarySubmitSerializer,
)
from api.serializers.pilots import DirectEntrySerializer, PilotUpdateSerializer
from api.serializers.reviews import EvaluationSerializer, InspectionSerializer
from api.serializers.term import (
    AcceptanceInputSerializer,
    ClosureInputSerializer,
    ExtensionInputSerializer,
)
from api.serializers.workflow import OverlapVerdictSerializer
from ledger.forms import (
    FILING_FORM_FIELDS,
    QUARTERLY_REPORT_FORM_FIELDS,
    FilingForm,
    HalfYearSummaryForm,
    QuarterlyReportForm,
)
from ledger.summaries import SUMMARY_FIELDS
from pilots.constants import Status
from pilots.forms import (
    APPLICATION_FIELDS,
    DIRECT_ENTRY_FIELDS,
    OVERLAP_VERDICT_FIELDS,
    ApplicationForm,
    OverlapVerdictForm,
    PilotForm,
)
from pilots.models import CodeSequence, Pilot
from pilots.term_forms import (
    ACCEPTANCE_FIELDS,
    CLOSURE_FIELDS,
    EXTENSION_FIELDS,
    AcceptanceForm,
    ClosureForm,
    ExtensionForm,
)
from reviews.forms import EVALUATION_FIELDS, INSPECTION_FIELDS, EvaluationForm, InspectionForm

API = "/api/v1/pilots/"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CJK = range(0x4E00, 0xA000)

APPLICATION: dict[str, Any] = {
    "name": "西湖区排污权有偿使用改革试点",
    "field": "governance",
    "kind": "single",
    "regions": ["hz-xihu"],
    "lead_department": "dept-env",
    "implementing_body": "杭州市生态环境局西湖分局",
    "goal": "建立排污权有偿使用和交易制度。",
    "scope": "西湖区全域重点排污单位。",
    "start_date": "2027-01-01",
    "end_date": "2027-12-31",
    "responsible_body": "杭州市生态环境局西湖分局",
    "measures": "核定初始排污权，建立交易平台。",
    "expected_outcomes": "形成可复制的排污权交易规则。",
    "contact_person": "王明",
    "contact_phone": "0571-87654321",
    "milestones": [{"due_date": "2027-06-30", "title": "交易平台上线"}],
}
DIRECT: dict[str, Any] = {
    **APPLICATION,
    "name": "国家排污许可制度改革试点（浙江）",
    "origin": "ministry",
    "regions": ["hangzhou", "ningbo"],
    "approval_authority": "生态环境部",
    "approval_doc_number": "环办函〔2026〕12号",
    "approval_date": "2026-11-02",
}
COMPREHENSIVE = {"kind": "comprehensive", "end_date": "2029-12-31", "milestones": []}

# (who, what is changed or removed, page and API accept?)
APPLICATION_CASES = [
    ("county", {}, True),
    ("county", {"regions": ["ningbo"]}, False),  # another prefecture
    ("county", {"regions": ["nb-yinzhou"]}, False),  # a county not the user's
    ("county", {"regions": ["hangzhou"]}, False),  # its own prefecture, not its county
    ("hangzhou", {"regions": ["hangzhou", "hz-xihu"]}, True),  # a prefecture and its county
    ("hangzhou", {"regions": ["nb-yinzhou"]}, False),  # another prefecture's county
    ("county", {"lead_department": "inactive-dept"}, False),
    ("county", {"lead_department": "hangzhou"}, False),  # not a department
    ("county", {"end_date": "2026-12-31"}, False),  # end before start
    ("county", {"end_date": "2029-06-30"}, False),  # single pilot over 2 years (R1.2)
    ("county", COMPREHENSIVE, True),  # a draft adds its milestones later; R1.2 on submission
    ("county", {"goal": None}, True),  # a draft may leave the entry elements empty (R1.1)
    ("county", {"name": "试" * 201}, False),  # text length
    ("county", {"name": None}, True),  # a draft saves whatever is filled in
    ("county", {"field": "nonsense"}, False),
    ("county", {"start_date": "1999-12-31"}, False),
    ("county", {"milestones": [{"due_date": "2027-06-30"}]}, False),  # a milestone without title
]
DIRECT_CASES = [
    ("dept", {}, True),
    ("office", {"lead_department": "dept-water"}, True),
    ("dept", {"lead_department": "dept-water"}, False),  # not its own
    ("dept", {"lead_department": "inactive-dept"}, False),
    ("dept", {"end_date": "2026-12-31"}, False),
    ("dept", {"end_date": "2029-06-30"}, False),  # R1.2
    ("dept", COMPREHENSIVE, False),  # comprehensive without milestones (R1.2)
    ("dept", {**COMPREHENSIVE, "milestones": [{"due_date": "2028-06-30", "title": "中期"}]}, True),
    ("dept", {**COMPREHENSIVE, "milestones": [{"due_date": "2031-06-30", "title": "晚"}]}, False),
    ("dept", {"goal": None}, False),  # R1.1
    ("dept", {"measures": None}, False),  # R1.1
    ("dept", {"origin": "call"}, False),  # applications go through a call
    ("dept", {"approval_doc_number": None}, False),  # R2.2
    ("dept", {"approval_doc_number": "环办函2026-12"}, False),
    ("dept", {"approval_date": "2027-01-01"}, False),  # approved after today (R2.2)
    ("dept", {"regions": []}, False),
    ("dept", {"regions": ["nowhere"]}, False),
    ("dept", {"name": "试" * 201}, False),
]


@pytest.fixture(autouse=True)
def _today(time_machine, db):
    time_machine.move_to(dt.datetime(2026, 12, 6, 10, tzinfo=SHANGHAI), tick=False)
    # The fixtures' pilots take codes outside the sequence: new ones start after them.
    CodeSequence.objects.update_or_create(year=2026, defaults={"last": 500})


@pytest.fixture
def inactive(orgs):
    return Organisation.objects.create(
        code="inactive-dept",
        name="浙江省已撤销厅",
        short_name="已撤销厅",
        kind="department",
        is_active=False,
    )


def _payload(base: dict, change: dict) -> dict:
    payload = {**base, **change}
    return {k: v for k, v in payload.items() if v is not None}


def _page_data(payload: dict) -> dict:
    """The same pilot as the page's form posts it: organisations by id, milestones as the
    formset."""
    pk = dict(Organisation.objects.values_list("code", "pk"))
    data: dict[str, Any] = {}
    for name, value in payload.items():
        if name == "milestones":
            continue
        if name in ("regions", "participating_units"):
            data[name] = [pk.get(code, code) for code in value]
        elif name == "lead_department":
            data[name] = pk.get(value, value)
        else:
            data[name] = value
    rows = payload.get("milestones", [])
    data.update({"ms-TOTAL_FORMS": len(rows), "ms-INITIAL_FORMS": 0})
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"ms-{i}-{key}"] = value
    return data


def _both(client, personas, who: str, page_url: str, payload: dict, api_payload: dict):
    """(page accepted, API accepted, API response) — each on a fresh count of pilots."""
    client.force_login(personas[who])
    before = Pilot.objects.count()
    page = client.post(page_url, _page_data(payload))
    page_ok = page.status_code == 302
    assert page.status_code in (200, 302, 403), page.status_code
    assert Pilot.objects.count() == before + page_ok
    api = client.post(API, api_payload, content_type="application/json")
    api_ok = api.status_code == 201
    assert Pilot.objects.count() == before + page_ok + api_ok
    return page_ok, api_ok, api


def _assert_chinese_400(response) -> None:
    assert response.status_code == 400, response.content.decode()
    body = response.json()
    assert any(ord(ch) in CJK for ch in body["detail"]), body
    assert body["errors"], body


@pytest.mark.parametrize(("who", "change", "accepted"), APPLICATION_CASES)
def test_the_api_accepts_exactly_the_applications_the_form_accepts_N3_R1_2(
    who, change, accepted, client, personas, world, inactive
):
    payload = _payload(APPLICATION, change)
    call = world["call"]

    page_ok, api_ok, api = _both(
        client, personas, who, f"/pilots/calls/{call}/apply/", payload, {**payload, "call": call}
    )

    assert (page_ok, api_ok) == (accepted, accepted)
    if not accepted:
        _assert_chinese_400(api)


@pytest.mark.parametrize(("who", "change", "accepted"), DIRECT_CASES)
def test_the_api_enters_directly_exactly_the_pilots_the_form_accepts_R2_2_R1_2(
    who, change, accepted, client, personas, orgs, inactive
):
    payload = _payload(DIRECT, change)

    page_ok, api_ok, api = _both(client, personas, who, "/pilots/new/", payload, payload)

    assert (page_ok, api_ok) == (accepted, accepted)
    if not accepted:
        _assert_chinese_400(api)


def test_the_api_enters_a_ministry_deployed_pilot_at_approved_R2_2(client, personas, orgs):
    client.force_login(personas["dept"])

    response = client.post(API, DIRECT, content_type="application/json")

    assert response.status_code == 201, response.content.decode()
    body = response.json()
    assert (body["status"], body["origin"], body["lead_department"]) == (
        Status.APPROVED,
        "ministry",
        "dept-env",
    )
    assert body["filing_due"] == "2026-11-09"
    pilot = Pilot.objects.get(code=body["code"])
    assert pilot.applicant == orgs["dept"]
    assert {r.code for r in pilot.regions.all()} == {"hangzhou", "ningbo"}
    created = pilot.history.get(history_type="+")
    assert (created.history_user, created.history_change_reason) == (
        personas["dept"],
        "直接录入试点（已批复，待备案）",
    )


@pytest.mark.parametrize("who", ["county", "hangzhou", "expert"])
def test_only_a_lead_department_or_the_office_enters_a_pilot_through_the_api_R2_2(
    who, client, personas, orgs
):
    client.force_login(personas[who])

    response = client.post(API, DIRECT, content_type="application/json")

    assert response.status_code in (400, 403)
    assert not Pilot.objects.exists()
    if personas[who].role in ("county", "prefecture"):
        assert "申报批次" in response.json()["errors"]["call"][0]


def test_the_api_refusal_names_the_field_in_chinese_like_the_form_N3(client, personas, world, orgs):
    client.force_login(personas["county"])

    response = client.post(
        API,
        {**APPLICATION, "regions": ["ningbo"], "call": world["call"]},
        content_type="application/json",
    )

    _assert_chinese_400(response)
    assert list(response.json()["errors"]) == ["regions"]
    assert "ningbo" in response.json()["errors"]["regions"][0]


def test_the_api_edits_an_application_through_the_form_and_keeps_its_regions_rule_N3(
    client, personas, world, orgs
):
    client.force_login(personas["county"])
    created = client.post(
        API, {**APPLICATION, "call": world["call"]}, content_type="application/json"
    ).json()
    url = f"{API}{created['code']}/"

    refused = client.patch(url, {"regions": ["ningbo"]}, content_type="application/json")
    renamed = client.patch(url, {"name": "西湖区排污权改革试点"}, content_type="application/json")

    _assert_chinese_400(refused)
    assert renamed.status_code == 200, renamed.content.decode()
    pilot = Pilot.objects.get(code=created["code"])
    assert pilot.name == "西湖区排污权改革试点"
    assert [r.code for r in pilot.regions.all()] == ["hz-xihu"]
    assert [m.title for m in pilot.milestones.filter(is_removed=False)] == ["交易平台上线"]


# --- one list of fields for the page's form and the API -------------------------------------

# (the page's form, the tuple both take, the API's serializer, what else the form takes, what
# else the API takes)
SAME_FIELDS = [
    # The plan is uploaded on the page; the milestones are the page's formset; the edit's
    # reason is no field of the pilot.
    (
        PilotForm,
        DIRECT_ENTRY_FIELDS,
        DirectEntrySerializer,
        {"plan_attachment", "reason"},
        {"milestones", "reason"},
    ),
    (
        PilotForm,
        DIRECT_ENTRY_FIELDS,
        PilotUpdateSerializer,
        {"plan_attachment", "reason"},
        {"milestones", "reason"},
    ),
    # The page takes the call from its address; its form inherits the edit's reason.
    (
        ApplicationForm,
        APPLICATION_FIELDS,
        ApplicationSerializer,
        {"plan_attachment", "reason"},
        {"call", "milestones"},
    ),
    (OverlapVerdictForm, OVERLAP_VERDICT_FIELDS, OverlapVerdictSerializer, set(), set()),
    (FilingForm, FILING_FORM_FIELDS, FilingInputSerializer, set(), set()),
    # The page takes the year and the quarter from its address.
    (
        QuarterlyReportForm,
        QUARTERLY_REPORT_FORM_FIELDS,
        QuarterlyReportInputSerializer,
        set(),
        {"year", "quarter"},
    ),
    (HalfYearSummaryForm, SUMMARY_FIELDS, SummarySubmitSerializer, set(), set()),
    (ClosureForm, CLOSURE_FIELDS, ClosureInputSerializer, set(), set()),
    (ExtensionForm, EXTENSION_FIELDS, ExtensionInputSerializer, set(), {"milestones"}),
    (AcceptanceForm, ACCEPTANCE_FIELDS, AcceptanceInputSerializer, set(), set()),
]


def _subclasses(cls: type) -> set[type]:
    direct = {sub for sub in cls.__subclasses__() if sub.__module__.startswith("api.")}
    return direct.union(*(_subclasses(sub) for sub in direct))


@pytest.mark.parametrize(
    ("form", "fields", "serializer", "form_else", "api_else"),
    SAME_FIELDS,
    ids=[row[2].__name__ for row in SAME_FIELDS],
)
def test_the_page_and_the_api_take_their_fields_from_one_tuple(
    form, fields, serializer, form_else, api_else
):
    assert len(set(fields)) == len(fields)
    assert set(form.base_fields) == {*fields, *form_else}
    assert [name for name in form.base_fields if name in fields] == list(fields)
    assert set(serializer().fields) == {*fields, *api_else}
    assert set(fields) <= set(serializer.Meta.fields)


def test_every_api_body_of_a_page_form_is_checked_against_its_form():
    for module in pkgutil.iter_modules(api.serializers.__path__):
        importlib.import_module(f"api.serializers.{module.name}")
    checked = {row[2] for row in SAME_FIELDS}

    assert _subclasses(FormInputSerializer) - checked == set()


def test_an_api_body_that_strays_from_its_tuple_is_refused_at_import():
    with pytest.raises(ImproperlyConfigured, match="title"):

        class Missing(FormInputSerializer):
            verdict = serializers.CharField()

            class Meta:
                fields = ("verdict", "title")

    with pytest.raises(ImproperlyConfigured, match="extra"):

        class Extra(FormInputSerializer):
            verdict = serializers.CharField()
            extra = serializers.CharField()

            class Meta:
                fields = ("verdict",)


@pytest.mark.parametrize(
    ("form", "fields", "serializer"),
    [
        (EvaluationForm, EVALUATION_FIELDS, EvaluationSerializer),
        (InspectionForm, INSPECTION_FIELDS, InspectionSerializer),
    ],
)
def test_the_api_shows_a_review_record_with_the_fields_its_page_takes(form, fields, serializer):
    assert tuple(form.base_fields) == fields
    assert set(fields) <= set(serializer().fields)
