"""The demo's end-of-term records, and the demo replayed through the scheduled jobs: each kind
of overdue item (R2.2, R2.3, R2.4, R3.2), a purge (R2.4) and a reminder."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from core.models import JobRun
from pilots.constants import DeadlineKind, Status, TermRequestStatus
from pilots.models import ClosureReport, ExtensionRequest, OverdueEvent, Pilot, Reminder


@pytest.fixture(autouse=True)
def private_files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def day() -> dt.date:
    """The day the demo is loaded on, unless a test names its own."""
    return dt.date(2026, 11, 24)


@pytest.fixture
def demo_day(day) -> dt.date:
    return day


def _load(day: dt.date) -> None:
    moment = dt.datetime.combine(day, dt.time(9), tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(moment, tick=False):
        call_command("load_demo", stdout=None)


def test_demo_pilots_at_the_end_of_their_term_have_their_records_R2_4(demo):
    for pilot in Pilot.objects.filter(status=Status.CLOSURE_REPORTED):
        assert pilot.closure_reports.get().status == TermRequestStatus.SUBMITTED
    for pilot in Pilot.objects.filter(status=Status.CLOSED):
        assert pilot.closure_reports.get().status == TermRequestStatus.ACCEPTED
    for pilot in Pilot.objects.filter(status=Status.EXTENSION_REQUESTED):
        request = pilot.extension_requests.get()
        assert request.new_end_date > pilot.end_date
    for pilot in Pilot.objects.filter(status=Status.PURGED):
        assert pilot.purged_on and "清理出库" in pilot.purge_reason
    assert ClosureReport.objects.exists() and ExtensionRequest.objects.exists()


@pytest.mark.parametrize(
    "day", [dt.date(2026, 11, 24), dt.date(2027, 1, 20), dt.date(2027, 4, 14), dt.date(2027, 8, 3)]
)
def test_the_demo_replayed_shows_every_kind_of_overdue_a_purge_and_a_reminder(demo, day):
    today = day.isoformat()

    call_command("send_reminders", today=today, stdout=None)
    call_command("flag_overdue", today=today, stdout=None)
    call_command("purge_expired", today=today, stdout=None)

    kinds = set(OverdueEvent.objects.values_list("kind", flat=True))
    assert kinds == set(DeadlineKind.values)
    assert Reminder.objects.exists()
    purge = JobRun.objects.get(job="purge_expired")
    assert purge.counts["purged"] >= 1


def test_the_demo_has_evaluations_a_removal_flag_a_list_and_an_overdue_rectification_R3_2_R3_3_R3_4(
    demo,
):
    from reviews.constants import Rating
    from reviews.models import Evaluation

    ratings = set(Evaluation.objects.values_list("rating", flat=True))
    assert ratings == {Rating.FIVE, Rating.FOUR, Rating.THREE, Rating.CANCELLED}
    flagged = Evaluation.objects.get(removal_flagged=True)
    assert flagged.rating == Rating.CANCELLED
    assert Evaluation.objects.filter(pilot=flagged.pilot, rating=Rating.CANCELLED).count() == 2
    from reviews.constants import ListStatus
    from reviews.models import PublishedList

    assert PublishedList.objects.filter(status=ListStatus.PUBLISHED).count() == 1
    assert PublishedList.objects.filter(status=ListStatus.DRAFT).count() == 1
    count = Evaluation.objects.count()
    _load(dt.date(2026, 11, 25))  # again: nothing new
    assert Evaluation.objects.count() == count
    assert PublishedList.objects.count() == 2
    from reviews.models import Rectification

    assert Rectification.objects.filter(closed_on__isnull=True).count() == 1
    from reviews.models import ExpertReview

    assert ExpertReview.objects.filter(status=ExpertReview.SUBMITTED).count() == 2
    call_command("flag_overdue", "--today", "2026-11-25", stdout=None)
    assert OverdueEvent.objects.filter(kind=DeadlineKind.RECTIFICATION).count() == 1
