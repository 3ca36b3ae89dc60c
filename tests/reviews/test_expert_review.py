"""Online expert review of applications (N3): experts from different units assigned by the
office, each blind to the others' scores until submitting, never seeing applications not
assigned to them; the office reads mean and spread; unfinished reviews are flagged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.constants import OrgKind, Role
from pilots import jobs
from pilots.constants import DeadlineKind, Status
from pilots.models import OverdueEvent
from reviews import expert
from reviews.models import ExpertReview
from tests.factories import OrganisationFactory, UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 20, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def second_expert(db):
    unit = OrganisationFactory(
        code="zju", name="浙江大学环境与资源学院", short_name="浙大", kind=OrgKind.THIRD_PARTY
    )
    return UserFactory(username="expert2", organisation=unit, role=Role.EXPERT)


@pytest.fixture
def application(make_pilot):
    return make_pilot(name="西湖区生态环境损害赔偿磋商制度改革试点", status=Status.ENDORSED)


@pytest.fixture
def assigned(application, personas, second_expert):
    return expert.assign_experts(
        actor=personas["office"],
        pilot=application,
        experts=[personas["expert"], second_expert],
        due_date=D(2026, 4, 30),
    )


def _post(client, review, scores, opinion="目标清晰，措施可行。"):
    data = {f"score_{i}": s for i, s in enumerate(scores)}
    data["opinion"] = opinion
    return client.post(f"/reviews/expert/{review.pk}/", data)


def test_experts_must_come_from_different_units_and_be_experts_N3(application, personas, orgs):
    same_unit = UserFactory(username="expert3", organisation=orgs["third"], role=Role.EXPERT)
    with pytest.raises(ValidationError, match="评审专家须来自不同单位"):
        expert.assign_experts(
            actor=personas["office"],
            pilot=application,
            experts=[personas["expert"], same_unit],
            due_date=D(2026, 4, 30),
        )
    with pytest.raises(ValidationError, match="只能分配评审专家账号"):
        expert.assign_experts(
            actor=personas["office"],
            pilot=application,
            experts=[personas["dept"]],
            due_date=D(2026, 4, 30),
        )
    with pytest.raises(PermissionDenied):
        expert.assign_experts(
            actor=personas["dept"],
            pilot=application,
            experts=[personas["expert"]],
            due_date=D(2026, 4, 30),
        )
    assert not ExpertReview.objects.exists()


def test_only_endorsed_applications_go_to_experts_N3(make_pilot, personas):
    draft = make_pilot(status=Status.SUBMITTED)
    with pytest.raises(ValidationError, match="设区市推荐后方可专家评审"):
        expert.assign_experts(
            actor=personas["office"],
            pilot=draft,
            experts=[personas["expert"]],
            due_date=D(2026, 4, 30),
        )


def test_an_expert_is_blind_to_the_others_until_submitting_N3(
    assigned, client_for, client, second_expert
):
    mine, theirs = assigned
    client.force_login(second_expert)
    assert _post(client, theirs, [28, 25, 18, 17], "很有创新性。XYZ").status_code == 302

    first = client_for("expert")
    page = first.get(f"/reviews/expert/{mine.pk}/").content.decode()
    assert "西湖区生态环境损害赔偿磋商制度改革试点" in page
    assert "很有创新性。XYZ" not in page and "88.00" not in page
    response = _post(first, mine, [20, 20, 15, 15])
    assert response.status_code == 302
    page = first.get(f"/reviews/expert/{mine.pk}/").content.decode()
    assert "很有创新性。XYZ" in page and "88.00" in page and "70.00" in page


def test_an_expert_never_sees_an_application_not_assigned_to_them_N3(
    assigned, application, client_for, client, second_expert, make_pilot
):
    mine, theirs = assigned
    other = expert.assign_experts(
        actor=assigned[0].assigned_by,
        pilot=make_pilot(status=Status.ENDORSED),
        experts=[second_expert],
        due_date=D(2026, 4, 30),
    )[0]
    first = client_for("expert")
    assert first.get(f"/reviews/expert/{other.pk}/").status_code == 404
    assert first.get(f"/reviews/expert/{theirs.pk}/").status_code == 404
    assert _post(first, theirs, [1, 1, 1, 1]).status_code == 404
    assert first.get(application.get_absolute_url()).status_code == 404
    assert first.get(f"/reviews/pilots/{application.code}/experts/").status_code == 403
    theirs.refresh_from_db()
    assert theirs.status == ExpertReview.PENDING


def test_scores_beyond_the_maximum_or_no_opinion_are_refused_N3(assigned, client_for):
    mine = assigned[0]
    client = client_for("expert")
    response = _post(client, mine, [31, 20, 15, "abc"], opinion="")
    page = response.content.decode()
    assert response.status_code == 200
    assert "“改革意义与制度创新”的得分应在0至30之间" in page
    assert "“可复制可推广价值”的得分应在0至20之间" in page
    assert "请填写评审意见" in page
    mine.refresh_from_db()
    assert mine.status == ExpertReview.PENDING and mine.total is None
    _post(client, mine, [30, 30, 20, 20])
    with pytest.raises(ValidationError, match="已提交"):
        expert.submit_review(actor=mine.expert, review=mine, scores=[0, 0, 0, 0], opinion="改")


def test_after_an_error_every_entered_score_stays_and_errors_sit_beside_their_fields_N3(
    assigned, client_for
):
    mine = assigned[0]
    response = _post(client_for("expert"), mine, [31, 25.5, 18, 12], opinion="措施可行。")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["score_0"] == ["“改革意义与制度创新”的得分应在0至30之间。"]
    assert set(form.errors) == {"score_0"}
    page = response.content.decode()
    for typed in ('value="31"', 'value="25.5"', 'value="18"', 'value="12"', "措施可行。"):
        assert typed in page
    mine.refresh_from_db()
    assert mine.status == ExpertReview.PENDING


def test_every_error_shows_at_once_beside_its_field_with_empty_scores_required_N3(
    assigned, client_for
):
    mine = assigned[0]
    response = _post(client_for("expert"), mine, [31, "", 18, 12], opinion="措施\x00可行。")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["score_0"] == ["“改革意义与制度创新”的得分应在0至30之间。"]
    assert errors["score_1"] == ["请填写本项得分。"]
    assert "控制字符" in errors["opinion"][0]
    assert set(errors) == {"score_0", "score_1", "opinion"}
    with pytest.raises(ValidationError, match="请填写本项得分"):
        expert.submit_review(actor=mine.expert, review=mine, scores=[1, None, 1, 1], opinion="可")
    mine.refresh_from_db()
    assert mine.status == ExpertReview.PENDING


def test_the_opinion_has_a_limit_with_a_counter_on_the_page_and_in_the_domain_N3(
    assigned, client_for
):
    mine = assigned[0]
    client = client_for("expert")
    page = client.get(f"/reviews/expert/{mine.pk}/").content.decode()
    assert f'data-maxlength="{expert.OPINION_MAX_LENGTH}"' in page
    too_long = "意" * (expert.OPINION_MAX_LENGTH + 1)
    response = _post(client, mine, [30, 30, 20, 20], opinion=too_long)
    assert "不能超过2000字" in response.context["form"].errors["opinion"][0]
    with pytest.raises(ValidationError, match="评审意见不超过2000字"):
        expert.submit_review(
            actor=mine.expert, review=mine, scores=[30, 30, 20, 20], opinion=too_long
        )
    mine.refresh_from_db()
    assert mine.status == ExpertReview.PENDING and mine.opinion == ""


def test_the_office_reads_mean_and_spread_side_by_side_N3(
    assigned, application, client_for, client, second_expert, orgs
):
    mine, theirs = assigned
    _post(client_for("expert"), mine, [20, 20, 15, 15])
    client.force_login(second_expert)
    _post(client, theirs, [28, 25, 18, 17])
    summary = expert.summary(application)
    assert (summary.submitted, summary.mean, summary.spread) == (
        2,
        Decimal("79.00"),
        Decimal("18.00"),
    )
    page = client_for("office").get(f"/reviews/pilots/{application.code}/experts/").content.decode()
    assert "79.00" in page and "18.00" in page and "目标清晰，措施可行。" in page
    # … and on the page where it decides.
    screen = client_for("office").get(f"/pilots/{application.code}/screen/")
    assert screen.status_code == 200
    assert "平均分 79.00" in screen.content.decode()


def test_an_unfinished_review_is_reminded_and_then_flagged_N3(assigned, personas, orgs):
    jobs.send_reminders(D(2026, 4, 23))
    assert orgs["third"].notifications.filter(subject__contains="即将到期").exists()
    jobs.flag_overdue(D(2026, 5, 1))
    events = OverdueEvent.objects.filter(kind=DeadlineKind.EXPERT_REVIEW)
    assert {e.organisation_id for e in events} == {
        orgs["third"].pk,
        assigned[1].expert.organisation_id,
    }
    assert events.first().clause == "N3"


def test_the_assign_picker_names_experts_by_name_and_unit_never_by_account_N3(
    application, personas, second_expert, client_for
):
    second_expert.display_name = "陈立华"
    second_expert.save(update_fields=["display_name"])
    page = client_for("office").get(f"/reviews/pilots/{application.code}/experts/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "陈立华（浙大）" in text
    assert ">expert2<" not in text and "expert2（" not in text
