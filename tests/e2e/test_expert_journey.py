"""Expert review in the browser (N3): the office assigns an expert to an endorsed application;
the expert finds the task on the home page, scores each criterion, writes an opinion and
submits; the office reads the score."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pilots.constants import Status
from reviews.models import ExpertReview

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "鄞州区流域横向生态补偿机制改革试点"


def test_an_expert_scores_an_application_N3(
    page, login, switch_to, shot, steps, make_pilot, personas
):
    application = make_pilot(name=NAME, status=Status.ENDORSED)
    login("office")
    page.goto(f"/reviews/pilots/{application.code}/experts/")
    steps.assign_expert(due=timezone.localdate() + dt.timedelta(days=10))

    switch_to("expert")
    page.get_by_role("link", name=NAME).click()
    steps.fill_expert_review(["25", "26", "18", "17"], "制度创新明显，建议立项。")
    shot("scoring")
    page.get_by_role("button", name="提交评审").click()
    assert page.get_by_text("评审已提交。").is_visible()
    assert page.get_by_text("86.00").is_visible()
    review = ExpertReview.objects.get()
    assert review.status == ExpertReview.SUBMITTED and review.total == 86

    switch_to("office")
    page.goto(f"/reviews/pilots/{application.code}/experts/")
    assert page.get_by_text("制度创新明显，建议立项。").is_visible()
    shot("office-summary")
