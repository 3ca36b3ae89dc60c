"""A prefecture sees that its application is being reviewed by experts, never who they are:
not on the pilot's page, its overdue items, its home page, nor in the overdue export."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from accounts.constants import Role
from pilots import jobs
from pilots.constants import Status
from pilots.deadlines import open_deadlines
from reviews import expert
from tests.factories import UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def reviewed(make_pilot, orgs, personas, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI), tick=False)
    personas["expert"].display_name = "蒋文博"
    personas["expert"].save()
    application = make_pilot(
        name="宁波待评审申报",
        status=Status.ENDORSED,
        applicant=orgs["ningbo"],
        regions=[orgs["ningbo"]],
        endorsing_prefecture=orgs["ningbo"],
    )
    expert.assign_experts(
        actor=personas["office"],
        pilot=application,
        experts=[personas["expert"]],
        due_date=D(2026, 4, 30),
    )
    time_machine.move_to(dt.datetime(2026, 5, 2, 9, 0, tzinfo=SHANGHAI), tick=False)
    jobs.flag_overdue(D(2026, 5, 2))
    return application


HIDDEN = ("expert", "蒋文博", "省环科院", "浙江省环境科学研究院")


def _visible(html: str) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_deadline_label_never_names_the_expert(reviewed):
    labels = [d.label for d in open_deadlines(due_before=D(2026, 6, 1))]
    review = [label for label in labels if "专家评审" in label]
    assert review and all("expert" not in label for label in review)
    assert all("专家评审（第" in label for label in review)


def test_ningbo_sees_an_expert_review_but_never_the_expert(reviewed, client_for):
    client = client_for("ningbo")
    pages = {
        path: _visible(client.get(path).content.decode())
        for path in ("/", "/pilots/overdue/", reviewed.get_absolute_url())
    }
    overdue = pages["/pilots/overdue/"]
    assert "专家评审（第" in overdue and "评审专家" in overdue
    for path, text in pages.items():
        shown = [word for word in HIDDEN if word in text]
        assert not shown, (path, shown)
    export = client.get("/pilots/overdue/export.xlsx")
    sheet = load_workbook(BytesIO(export.content)).active
    cells = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert "专家评审" in cells and not [w for w in HIDDEN if w in cells]


def test_the_office_and_the_expert_still_see_the_unit(reviewed, client_for, personas, orgs):
    office = _visible(client_for("office").get("/pilots/overdue/").content.decode())
    assert "省环科院" in office
    other = UserFactory(username="expert9", organisation=orgs["third"], role=Role.EXPERT)
    assert other.organisation_id == personas["expert"].organisation_id
