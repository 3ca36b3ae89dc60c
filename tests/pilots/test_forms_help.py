"""Forms that help: every error in one round, each beside its field; required fields marked
before the first submission; drafts that save whatever is filled in; text limits; grouped lead
departments; searchable selects on form pages only; milestone rows added on the page."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts.constants import OrgKind
from accounts.models import Organisation
from pilots import calls
from pilots.constants import Status
from pilots.forms import ApplicationForm, PilotForm
from pilots.models import TEXT_LIMITS, Call, Pilot
from tests.pilots.test_call_pages import form_data

NOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def in_march_2026(time_machine):
    time_machine.move_to(NOW, tick=False)


def _errors_by_field(html: str) -> dict[str, list[str]]:
    """{field name: [error]} for every field rendered by pilots/_field.html with errors."""
    found: dict[str, list[str]] = {}
    for block in re.findall(r'<div class="field has-error">(.*?)\n</div>', html, re.S):
        name = re.search(r'name="([^"]+)"', block)
        found[name.group(1) if name else "?"] = re.findall(
            r'<div class="error">([^<]*)</div>', block
        )
    return found


EMPTY = {
    "ms-TOTAL_FORMS": "3",
    "ms-INITIAL_FORMS": "0",
    "ms-MIN_NUM_FORMS": "0",
    "ms-MAX_NUM_FORMS": "30",
}


# --- every error at once, beside its field ---------------------------------------------------


def test_an_empty_application_submitted_shows_every_missing_field_at_once_beside_it_R1_1(
    client_for, call
):
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/", {**EMPTY, "submit_now": "1"}
    )
    assert response.status_code == 200
    errors = _errors_by_field(response.content.decode())
    # The six entry elements (R1.1), named with their clause …
    for name in ("goal", "scope", "start_date", "end_date", "responsible_body", "measures"):
        assert errors[name] == [errors[name][0]] and "准入六要素" in errors[name][0], name
    assert "准入六要素" in errors["expected_outcomes"][0]
    # … and the other fields submission requires, in the same round.
    for name in ("name", "field", "kind", "implementing_body", "lead_department"):
        assert errors[name], name
    assert errors["regions"] == ["请选择至少一个试点地区。"]
    assert '<div class="form-errors">' not in response.content.decode()
    assert not Pilot.objects.exists()


def test_form_and_domain_errors_come_in_one_round(client_for, orgs, call):
    # A bad phone number (the form's check) and missing elements (the domain's R1.1 check)
    # and a term too long (R1.2) are all shown at once.
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/",
        form_data(
            orgs, goal="", scope="", contact_phone="call me", end_date="2028-06-02", submit_now="1"
        ),
    )
    errors = _errors_by_field(response.content.decode())
    assert set(errors) == {"goal", "scope", "contact_phone", "end_date"}
    assert errors["end_date"] == [errors["end_date"][0]]
    assert "最长不超过2年" in errors["end_date"][0]
    assert not Pilot.objects.exists()


def test_comprehensive_pilot_without_milestones_is_named_beside_the_milestones_R1_2(
    client_for, orgs, call
):
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/",
        form_data(orgs, kind="comprehensive", end_date="2029-05-31", goal="", submit_now="1"),
    )
    html = response.content.decode()
    milestones = html[html.index('data-formset="ms"') :]
    assert "综合性试点须明确阶段性目标任务和时间节点" in milestones
    assert "准入六要素" in _errors_by_field(html)["goal"][0]


def test_the_call_form_reports_every_error_at_once(client_for):
    response = client_for("office").post(
        "/pilots/calls/new/",
        {"title": "", "deadline": "2026-03-01T09:00", "prefecture_quota": "0"},
    )
    errors = _errors_by_field(response.content.decode())
    assert errors["title"] == ["请填写批次名称。"]
    assert errors["deadline"] == ["报送截止时间须晚于当前时间。"]
    assert errors["prefecture_quota"] == ["推荐名额至少为1。"]
    assert not Call.objects.exists()


def test_the_domain_error_carries_field_names(personas, call):
    draft = calls.create_application(actor=personas["county"], call=call, data={})
    with pytest.raises(ValidationError) as exc:
        calls.submit_application(actor=personas["county"], pilot=draft)
    assert {"goal", "scope", "measures", "regions", "name", "lead_department"} <= set(
        exc.value.message_dict
    )


def test_required_fields_are_marked_before_the_first_submission(client_for, call):
    html = client_for("county").get(f"/pilots/calls/{call.pk}/apply/").content.decode()
    for name in ("name", "goal", "measures", "lead_department"):
        block = html[: html.index(f'name="{name}"')]
        label = block[block.rindex("<label") :]
        assert '<span class="req" title="必填">*</span>' in label, name
        field = html[html.index(f'name="{name}"') - 300 : html.index(f'name="{name}"') + 300]
        assert 'aria-required="true"' in field, name
    # Optional fields carry no mark.
    block = html[: html.index('name="work_foundation"')]
    assert "req" not in block[block.rindex("<label") :]


# --- drafts save anything --------------------------------------------------------------------


def test_an_empty_draft_saves(client_for, call):
    client = client_for("county")
    response = client.post(f"/pilots/calls/{call.pk}/apply/", {**EMPTY, "save_draft": "1"})
    pilot = Pilot.objects.get()
    assert response.status_code == 302
    assert pilot.status == Status.DRAFT
    assert pilot.start_date is None and pilot.lead_department is None
    # Its pages still open: the draft, its edit form, the call and the pilot list.
    for url in (
        pilot.get_absolute_url(),
        f"/pilots/{pilot.code}/edit/",
        f"/pilots/calls/{call.pk}/",
        "/pilots/?reset=1",
    ):
        assert client.get(url, follow=True).status_code == 200, url
    # Filled in later, it saves again and is submitted.
    response = client.post(f"/pilots/{pilot.code}/edit/", {**EMPTY, "name": "只写了名称"})
    pilot.refresh_from_db()
    assert pilot.name == "只写了名称"


def test_a_draft_still_refuses_what_is_wrong(client_for, orgs, call):
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/",
        {**EMPTY, "contact_phone": "call me", "goal": "试" * (TEXT_LIMITS["goal"] + 1)},
    )
    errors = _errors_by_field(response.content.decode())
    assert "goal" in errors and "contact_phone" in errors
    assert not Pilot.objects.exists()


# --- limits ------------------------------------------------------------------------------------


def test_text_over_its_limit_is_refused_by_the_domain_too(personas, call):
    with pytest.raises(ValidationError) as exc:
        calls.create_application(
            actor=personas["county"], call=call, data={"measures": "措" * 3001}
        )
    assert exc.value.message_dict["measures"] == ["不能超过3000字（现有3001字）。"]
    assert not Pilot.objects.exists()


def test_text_fields_carry_their_limit_for_the_counter(client_for, call):
    html = client_for("county").get(f"/pilots/calls/{call.pk}/apply/").content.decode()
    assert re.search(r'<textarea[^>]*name="goal"[^>]*>', html)
    goal = re.search(r'<textarea[^>]*name="goal"[^>]*>', html).group(0)
    assert 'data-maxlength="3000"' in goal and 'maxlength="3000"' in goal


# --- choosing units ----------------------------------------------------------------------------


def test_the_lead_department_choices_are_grouped(personas, orgs):
    form = ApplicationForm(user=personas["county"])
    choices = form.fields["lead_department"].choices
    assert choices[0] == ("", "请选择")
    groups = {label: [name for _pk, name in options] for label, options in choices[1:]}
    dept = orgs["dept"]
    division = Organisation.objects.filter(kind=OrgKind.DIVISION, parent=dept).first()
    assert groups[dept.name][0] == dept.name
    assert division.name in groups[dept.name]
    html = str(form["lead_department"])
    assert f'<optgroup label="{dept.name}">' in html
    assert "data-searchable" in html


def test_a_division_chosen_from_its_group_is_saved(personas, orgs):
    division = Organisation.objects.filter(kind=OrgKind.DIVISION, parent=orgs["dept"]).first()
    form = PilotForm({"lead_department": division.pk}, user=personas["dept"])
    form.is_valid()
    assert "lead_department" not in form.errors
    assert form.cleaned_data["lead_department"] == division


def test_searchable_selects_only_on_form_pages(client_for, call):
    client = client_for("county")
    form_page = client.get(f"/pilots/calls/{call.pk}/apply/").content.decode()
    assert "vendor/tom-select/tom-select.complete.min.js" in form_page
    assert "vendor/tom-select/tom-select.min.css" in form_page
    assert "js/forms.js" in form_page
    assert re.search(r'<select[^>]*name="regions"[^>]*data-searchable', form_page) or re.search(
        r'<select[^>]*data-searchable[^>]*name="regions"', form_page
    )
    list_page = client.get("/pilots/?reset=1", follow=True).content.decode()
    assert "tom-select" not in list_page


# --- milestone rows ----------------------------------------------------------------------------


def test_the_milestone_rows_have_an_empty_row_template_and_buttons(client_for, call):
    html = client_for("county").get(f"/pilots/calls/{call.pk}/apply/").content.decode()
    template = html[html.index("<template data-formset-template>") :]
    template = template[: template.index("</template>")]
    assert 'name="ms-__prefix__-due_date"' in template
    assert "添加一行" in html and "删除" in html
    # Without script the three empty rows are there to fill.
    assert 'name="ms-2-title"' in html


def test_added_milestone_rows_are_saved(client_for, orgs, call):
    data = form_data(orgs, kind="comprehensive", end_date="2029-05-31", submit_now="1")
    data["ms-TOTAL_FORMS"] = "5"
    for i, (day, title) in enumerate(
        [("2027-01-31", "制度设计"), ("2027-12-31", "全面推开"), ("2029-03-31", "总结验收")],
        start=2,
    ):
        data.update({f"ms-{i}-due_date": day, f"ms-{i}-title": title, f"ms-{i}-reached_on": ""})
    response = client_for("county").post(f"/pilots/calls/{call.pk}/apply/", data)
    assert response.status_code == 302
    pilot = Pilot.objects.get()
    assert pilot.status == Status.SUBMITTED
    assert [m.title for m in pilot.milestones.all()] == ["制度设计", "全面推开", "总结验收"]


# --- quarterly reports and half-year summaries (R2.3) ------------------------------------------


@pytest.fixture
def ledger_pilot(make_pilot, orgs, time_machine):
    # In May, the first quarter has ended and its report is owed.
    time_machine.move_to(dt.datetime(2026, 5, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    return make_pilot(
        code="ST-2026-9001",
        status=Status.ACTIVE,
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        ledger_since=dt.date(2026, 1, 15),
        regions=[orgs["county"]],
    )


def test_a_report_over_the_limit_is_refused_with_a_chinese_message_and_nothing_changes(
    client_for, ledger_pilot
):
    from ledger.models import QuarterlyReport

    url = f"/ledger/pilots/{ledger_pilot.code}/reports/2026/1/"
    response = client_for("dept").post(url, {"progress": "进" * 15000})
    assert response.status_code == 200
    assert (
        "不能超过2000字（现有15000字）。"
        in _errors_by_field(response.content.decode())["progress"][0]
    )
    assert not QuarterlyReport.objects.exists()
    page = client_for("dept").get(url).content.decode()
    assert re.search(r'<textarea[^>]*data-maxlength="2000"', page)
    assert "js/forms.js" in page


def test_the_report_domain_refuses_text_over_the_limit_too(personas, ledger_pilot):
    from ledger.models import QuarterlyReport
    from ledger.reports import submit_quarterly_report

    with pytest.raises(ValidationError) as exc:
        submit_quarterly_report(
            actor=personas["dept"],
            pilot=ledger_pilot,
            year=2026,
            quarter=1,
            data={"progress": "进展", "problems": "问" * 1001},
        )
    assert exc.value.message_dict == {"problems": ["不能超过1000字（现有1001字）。"]}
    assert not QuarterlyReport.objects.exists()


def test_long_progress_in_the_report_list_is_cut_with_the_whole_text_behind_it(
    client_for, personas, ledger_pilot
):
    from ledger.reports import submit_quarterly_report

    text = "本季度推进磋商制度。" * 150  # 1,500 字
    submit_quarterly_report(
        actor=personas["dept"], pilot=ledger_pilot, year=2026, quarter=1, data={"progress": text}
    )
    page = client_for("dept").get(f"/ledger/pilots/{ledger_pilot.code}/reports/").content
    page = page.decode()
    assert '<details class="clip-text">' in page
    summary = re.search(r"<summary[^>]*>([^<]*)</summary>", page).group(1)
    assert len(summary) <= 200
    assert text in page  # the whole text, behind 展开


def test_an_empty_draft_prints_as_a_form(client_for, call):
    client = client_for("county")
    client.post(f"/pilots/calls/{call.pk}/apply/", {**EMPTY, "save_draft": "1"})
    pilot = Pilot.objects.get()
    response = client.get(f"/pilots/{pilot.code}/application.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_an_opinion_has_a_limit_in_the_products_words():
    from pilots.forms import ReasonForm

    form = ReasonForm({"reason": "意" * 1001})
    assert not form.is_valid()
    assert form.errors["reason"] == ["不能超过1000字（现有1001字）。"]
    assert ReasonForm({"reason": "意" * 1000}).is_valid()


# --- found by trying the product from outside ---------------------------------------------


def test_text_made_only_of_invisible_characters_is_empty_R2_3():
    """Zero-width characters take no room on the page: a required text made only of them is
    refused like an empty one."""
    from ledger.forms import QuarterlyReportForm

    form = QuarterlyReportForm(data={"progress": "\u200b\u200d \u2060"})
    assert not form.is_valid()
    assert "progress" in form.errors


def test_milestones_of_any_pilot_lie_within_its_term_R1_2():
    import datetime as dt

    import pytest
    from django.core.exceptions import ValidationError

    from pilots import rules
    from pilots.constants import PilotKind

    with pytest.raises(ValidationError, match="不在期限内"):
        rules.validate_term(
            kind=PilotKind.SINGLE,
            start=dt.date(2028, 1, 1),
            end=dt.date(2029, 1, 1),
            milestone_dates=[dt.date(2026, 1, 1)],
        )
