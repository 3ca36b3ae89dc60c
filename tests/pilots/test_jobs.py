"""The scheduled jobs (pilots.jobs): flag_overdue (R2.2, R2.3, R2.4, R3.2), purge_expired (R2.4)
and send_reminders — each at its boundary dates, run twice and run concurrently with one
effect, set-based (the same number of queries for 5 pilots and 50), with history for exactly
the rows changed, and never deleting anything."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.forms.models import model_to_dict
from django_celery_beat.models import PeriodicTask

from accounts.models import Notification
from core.models import JobRun, JobStatus
from ledger.constants import SummaryStatus
from ledger.models import HalfYearSummary, QuarterlyReport
from pilots import jobs, term
from pilots.constants import DeadlineKind, EvaluatorType, Status
from pilots.models import OverdueEvent, Pilot, Reminder

D = dt.date


def _open(kind=None):
    qs = OverdueEvent.objects.filter(resolved_on__isnull=True)
    return qs.filter(kind=kind) if kind else qs


def _notices(org):
    return Notification.objects.filter(organisation=org)


# --- flag_overdue: each deadline at its boundary ----------------------------------------------


def test_filing_is_overdue_the_day_after_seven_days_from_approval_R2_2(make_pilot, orgs):
    pilot = make_pilot(status=Status.APPROVED, approval_date=D(2026, 11, 1), ledger_since=None)

    jobs.flag_overdue(D(2026, 11, 8))
    assert not _open().exists()

    run = jobs.flag_overdue(D(2026, 11, 9))

    event = _open(DeadlineKind.FILING).get()
    assert (event.pilot, event.organisation, event.due_date) == (
        pilot,
        orgs["dept"],
        D(2026, 11, 8),
    )
    assert event.clause == "R2.2"
    assert run.counts["flagged"] == 1 and run.status == JobStatus.DONE
    notice = _notices(orgs["dept"]).get()
    assert "新增逾期事项1项" in notice.subject and "R2.2" in notice.body


@pytest.mark.parametrize(
    ("today", "quarters"),
    [
        (D(2026, 4, 10), []),  # Q1 due 10 April (PILOT_QUARTERLY_DUE_DAYS)
        (D(2026, 4, 11), [(2026, 4, 10)]),
        (D(2026, 10, 11), [(2026, 4, 10), (2026, 7, 10), (2026, 10, 10)]),
        (D(2027, 1, 11), [(2026, 4, 10), (2026, 7, 10), (2026, 10, 10), (2027, 1, 10)]),
        (D(2027, 4, 11), [(2026, 4, 10), (2026, 7, 10), (2026, 10, 10), (2027, 1, 10)]),
    ],
)
def test_each_unreported_quarter_is_overdue_after_its_due_date_R2_3(
    make_pilot, orgs, today, quarters
):
    make_pilot(start_date=D(2026, 1, 1), end_date=D(2026, 12, 31), ledger_since=D(2026, 1, 5))

    jobs.flag_overdue(today)

    due = sorted(_open(DeadlineKind.QUARTERLY).values_list("due_date", flat=True))
    assert due == [D(*q) for q in quarters]


def test_a_reported_quarter_is_not_overdue_and_a_late_report_resolves_the_flag_R2_3(
    make_pilot, orgs, personas
):
    pilot = make_pilot(
        start_date=D(2026, 1, 1), end_date=D(2026, 12, 31), ledger_since=D(2026, 1, 5)
    )
    QuarterlyReport.objects.create(
        pilot=pilot,
        year=2026,
        quarter=1,
        progress="进展",
        due_date=D(2026, 4, 10),
        organisation=orgs["dept"],
        submitted_by=personas["dept"],
    )
    jobs.flag_overdue(D(2026, 7, 11))
    assert list(_open().values_list("due_date", flat=True)) == [D(2026, 7, 10)]

    QuarterlyReport.objects.create(
        pilot=pilot,
        year=2026,
        quarter=2,
        progress="进展",
        due_date=D(2026, 7, 10),
        days_late=2,
        organisation=orgs["dept"],
        submitted_by=personas["dept"],
    )
    run = jobs.flag_overdue(D(2026, 7, 12))

    assert run.counts["resolved"] == 1
    event = OverdueEvent.objects.get()
    assert event.resolved_on == D(2026, 7, 12)
    assert [h.resolved_on for h in event.history.order_by("history_id")] == [None, D(2026, 7, 12)]


@pytest.mark.parametrize(("today", "flagged"), [(D(2026, 7, 15), False), (D(2026, 7, 16), True)])
def test_half_year_summary_is_overdue_after_15_days_R2_3(make_pilot, orgs, today, flagged):
    # A division's pilot counts for its department.
    make_pilot(lead_department=orgs["division"], ledger_since=D(2026, 1, 5))

    jobs.flag_overdue(today)

    events = list(_open(DeadlineKind.HALF_YEAR))
    assert [(e.organisation, e.due_date) for e in events] == (
        [(orgs["dept"], D(2026, 7, 15))] if flagged else []
    )


def test_a_submitted_half_year_summary_is_not_overdue_R2_3(make_pilot, orgs, personas):
    make_pilot(ledger_since=D(2026, 1, 5))
    HalfYearSummary.objects.create(
        organisation=orgs["dept"],
        year=2026,
        half=1,
        status=SummaryStatus.SUBMITTED,
        overview="总体",
        progress="进展",
        due_date=D(2026, 7, 15),
        prepared_by=personas["dept"],
    )
    jobs.flag_overdue(D(2026, 7, 20))
    assert not _open(DeadlineKind.HALF_YEAR).exists()


@pytest.mark.parametrize(("today", "flagged"), [(D(2026, 12, 31), False), (D(2027, 1, 1), True)])
def test_neither_closure_nor_extension_at_expiry_is_overdue_R2_4(make_pilot, today, flagged):
    make_pilot(end_date=D(2026, 12, 31))
    jobs.flag_overdue(today)
    assert _open(DeadlineKind.TERM_END).exists() is flagged


def test_a_reported_closure_resolves_the_expiry_flag_R2_4(make_pilot, personas):
    pilot = make_pilot(end_date=D(2026, 12, 31))
    jobs.flag_overdue(D(2027, 1, 2))
    term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验", today=D(2027, 1, 3)
    )
    jobs.flag_overdue(D(2027, 1, 4))
    assert not _open(DeadlineKind.TERM_END).exists()


@pytest.mark.parametrize(("today", "flagged"), [(D(2027, 2, 28), False), (D(2027, 3, 1), True)])
def test_acceptance_report_is_overdue_two_months_after_the_end_R3_2(make_pilot, today, flagged):
    make_pilot(end_date=D(2026, 12, 31), status=Status.CLOSED)
    jobs.flag_overdue(today)
    assert _open(DeadlineKind.ACCEPTANCE).exists() is flagged


def test_a_submitted_acceptance_report_is_not_overdue_R3_2(make_pilot, personas):
    pilot = make_pilot(end_date=D(2026, 12, 31), status=Status.CLOSED)
    term.submit_acceptance_report(
        actor=personas["dept"], pilot=pilot, summary="总结", evaluator=EvaluatorType.SELF
    )
    jobs.flag_overdue(D(2027, 5, 1))
    assert not _open(DeadlineKind.ACCEPTANCE).exists()


def test_flag_overdue_twice_records_and_notifies_once(make_pilot, orgs):
    make_pilot(status=Status.APPROVED, approval_date=D(2026, 11, 1))
    make_pilot(end_date=D(2026, 10, 31))

    first = jobs.flag_overdue(D(2026, 11, 20))
    second = jobs.flag_overdue(D(2026, 11, 20))
    third = jobs.flag_overdue(D(2026, 11, 21))

    assert first.counts["flagged"] == 2
    assert second.counts["flagged"] == 0 and third.counts["flagged"] == 0
    assert OverdueEvent.objects.count() == 2
    assert OverdueEvent.history.count() == 2  # one history row per event, nothing more
    assert _notices(orgs["dept"]).count() == 1
    assert JobRun.objects.filter(job="flag_overdue", status=JobStatus.DONE).count() == 3


def _many(make_pilot, n, offset=0):
    """n pilots with one deadline each: filing, expiry, or a reminder-due end date."""
    for i in range(offset, offset + n):
        if i % 3 == 0:
            make_pilot(status=Status.APPROVED, approval_date=D(2026, 10, 1), ledger_since=None)
        elif i % 3 == 1:
            make_pilot(end_date=D(2026, 9, 30), ledger_since=None)
        else:
            make_pilot(end_date=D(2026, 11, 25), ledger_since=None)


def _round(today):
    flag = jobs.flag_overdue(today)
    remind = jobs.send_reminders(today)
    purge = jobs.purge_expired(today)
    again = jobs.flag_overdue(today)
    return flag, remind, purge, again


def test_jobs_issue_the_same_number_of_queries_for_5_and_50_pilots(make_pilot):
    _many(make_pilot, 5)
    small = _round(D(2026, 11, 20))
    _many(make_pilot, 45, offset=5)
    big = _round(D(2026, 11, 21))

    assert small[0].counts["flagged"] < big[0].counts["flagged"]
    assert small[1].counts["reminded"] < big[1].counts["reminded"]
    assert small[2].counts["purged"] < big[2].counts["purged"]
    assert [r.queries for r in big] == [r.queries for r in small]
    assert max(r.queries for r in big) <= 20


# --- purge_expired (R2.4) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "purged"),
    [(D(2027, 1, 30), False), (D(2027, 1, 31), True)],  # end 31 Dec + 30 days of grace
)
def test_purge_after_the_grace_period_R2_4(make_pilot, today, purged):
    pilot = make_pilot(end_date=D(2026, 12, 31))
    run = jobs.purge_expired(today)
    pilot.refresh_from_db()
    assert (pilot.status == Status.PURGED) is purged
    assert run.counts["purged"] == int(purged)


def test_closure_or_extension_pending_keeps_a_pilot_from_the_purge_R2_4(make_pilot):
    closing = make_pilot(end_date=D(2026, 12, 31), status=Status.CLOSURE_REPORTED)
    extending = make_pilot(end_date=D(2026, 12, 31), status=Status.EXTENSION_REQUESTED)
    jobs.purge_expired(D(2027, 6, 1))
    assert {p.status for p in Pilot.objects.filter(pk__in=[closing.pk, extending.pk])} == {
        Status.CLOSURE_REPORTED,
        Status.EXTENSION_REQUESTED,
    }


def test_a_returned_closure_gets_a_new_grace_period_R2_4(make_pilot, personas, time_machine):
    pilot = make_pilot(end_date=D(2026, 12, 31))
    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验", today=D(2027, 1, 20)
    )
    time_machine.move_to(dt.datetime(2027, 1, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    term.return_closure(actor=personas["office"], report=report, reason="材料不全")

    jobs.purge_expired(D(2027, 2, 20))
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE
    jobs.purge_expired(D(2027, 2, 25))
    pilot.refresh_from_db()
    assert pilot.status == Status.PURGED


def test_purge_deletes_nothing_and_a_restore_brings_every_field_back_R2_4(
    make_pilot, orgs, personas
):
    pilot = make_pilot(end_date=D(2026, 12, 31), regions=[orgs["county"]])
    kept = make_pilot(end_date=D(2027, 12, 31))
    before = model_to_dict(Pilot.objects.get(pk=pilot.pk))
    count = Pilot.objects.count()

    jobs.purge_expired(D(2027, 2, 1))

    assert Pilot.objects.count() == count
    purged = Pilot.objects.get(pk=pilot.pk)
    assert purged.status == Status.PURGED
    assert purged.purged_on == D(2027, 2, 1)
    assert "2026年12月31日到期" in purged.purge_reason
    assert purged.status_before_purge == Status.ACTIVE
    assert purged.history.first().history_change_reason == jobs.PURGE_REASON
    assert kept.history.count() == Pilot.objects.get(pk=kept.pk).history.count()
    assert _notices(orgs["dept"]).filter(subject__contains="清理出库").count() == 1
    assert _notices(orgs["office"]).filter(subject__contains="清理出库").count() == 1

    restored = term.restore_pilot(
        actor=personas["office"], pilot=purged, reason="部门已补报材料", today=D(2027, 2, 3)
    )

    after = model_to_dict(Pilot.objects.get(pk=restored.pk))
    assert after.pop("restored_on") == D(2027, 2, 3)
    before.pop("restored_on")
    assert after == before
    assert restored.history.first().history_change_reason == "恢复入库：部门已补报材料"
    # A restored pilot has a new grace period from the day it was restored.
    jobs.purge_expired(D(2027, 3, 5))
    assert Pilot.objects.get(pk=pilot.pk).status == Status.ACTIVE
    jobs.purge_expired(D(2027, 3, 6))
    assert Pilot.objects.get(pk=pilot.pk).status == Status.PURGED


def test_purge_twice_purges_and_notifies_once_R2_4(make_pilot, orgs):
    make_pilot(end_date=D(2026, 12, 31))
    first = jobs.purge_expired(D(2027, 2, 1))
    second = jobs.purge_expired(D(2027, 2, 1))
    assert (first.counts["purged"], second.counts["purged"]) == (1, 0)
    assert _notices(orgs["dept"]).count() == 1
    assert Pilot.history.filter(status=Status.PURGED).count() == 1


def test_only_the_office_restores_R2_4(make_pilot, personas):
    pilot = make_pilot(end_date=D(2026, 12, 31))
    jobs.purge_expired(D(2027, 2, 1))
    pilot.refresh_from_db()
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        term.restore_pilot(actor=personas["dept"], pilot=pilot, reason="x")
    with pytest.raises(ValidationError):
        term.restore_pilot(actor=personas["office"], pilot=pilot, reason=" ")
    pilot.refresh_from_db()
    assert pilot.status == Status.PURGED


# --- send_reminders ---------------------------------------------------------------------------


def test_reminders_go_out_7_days_and_1_day_before_once_each(make_pilot, orgs):
    make_pilot(status=Status.APPROVED, approval_date=D(2026, 11, 1))  # filing due 8 Nov

    counts = {
        day: jobs.send_reminders(D(2026, 11, day)).counts["reminded"] for day in (1, 2, 3, 7, 7, 8)
    }

    assert counts == {1: 1, 2: 0, 3: 0, 7: 0, 8: 0}
    assert sorted(Reminder.objects.values_list("days_before", "sent_on")) == [
        (1, D(2026, 11, 7)),
        (7, D(2026, 11, 1)),
    ]
    subjects = list(_notices(orgs["dept"]).values_list("subject", flat=True))
    assert subjects == ["1项事项即将到期", "1项事项即将到期"]


def test_a_missed_day_still_reminds_once(make_pilot):
    make_pilot(end_date=D(2026, 12, 31))  # closure or extension due at the end date
    assert jobs.send_reminders(D(2026, 12, 27)).counts["reminded"] == 1  # 4 days left: the 7
    assert jobs.send_reminders(D(2026, 12, 28)).counts["reminded"] == 0
    assert jobs.send_reminders(D(2026, 12, 31)).counts["reminded"] == 1  # the 1-day reminder


# --- commands, tasks and schedules -----------------------------------------------------------


def test_commands_replay_a_day(make_pilot, capsys):
    make_pilot(end_date=D(2026, 12, 31))
    call_command("send_reminders", today="2026-12-30")
    call_command("flag_overdue", today="2027-01-05")
    call_command("purge_expired", "--today", "2027-02-01")
    out = capsys.readouterr().out
    assert "flagged=1" in out and "purged=1" in out and "reminded=1" in out
    assert list(JobRun.objects.order_by("pk").values_list("today", "triggered_by")) == [
        (D(2026, 12, 30), "命令行"),
        (D(2027, 1, 5), "命令行"),
        (D(2027, 2, 1), "命令行"),
    ]
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("flag_overdue", today="2027-13-01")


def test_the_jobs_have_beat_schedules_the_office_can_change(db):
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "pilots.tasks.flag_overdue_task",
        "pilots.tasks.purge_expired_task",
        "pilots.tasks.send_reminders_task",
        "ledger.tasks.render_ledgers_task",
    } <= tasks
    quarterly = PeriodicTask.objects.get(task="ledger.tasks.render_ledgers_task").crontab
    assert (quarterly.day_of_month, quarterly.month_of_year) == ("11", "1,4,7,10")


def test_the_task_runs_the_job(make_pilot):
    from pilots.tasks import flag_overdue_task

    make_pilot(start_date=D(2020, 1, 1), end_date=D(2020, 12, 31))
    flag_overdue_task.delay()
    run = JobRun.objects.get()
    assert run.triggered_by == "定时任务" and run.counts["flagged"] >= 1


def test_a_failing_job_is_recorded_as_failed_and_changes_nothing(make_pilot, monkeypatch):
    make_pilot(end_date=D(2026, 12, 31))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "notify_many", broken)
    with pytest.raises(RuntimeError):
        jobs.flag_overdue(D(2027, 1, 5))
    run = JobRun.objects.get()
    assert run.status == JobStatus.FAILED and "boom" in run.error
    assert not OverdueEvent.objects.exists()


# --- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("job", ["flag_overdue", "purge_expired"])
def test_two_runs_at_once_have_one_effect(orgs, make_pilot, monkeypatch, job):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite has no row locks and serialises writers on the whole file; run with "
            "DATABASE_URL=postgres://… to check the job lock."
        )
    for i in range(6):
        make_pilot(end_date=D(2026, 12, 31) if i % 2 else D(2026, 6, 30))
    # Each run dwells after reading what is due, so that without the job lock both would read
    # the same state and both write.
    if job == "flag_overdue":
        real = jobs.open_deadlines

        def slow(**kwargs):
            found = real(**kwargs)
            time.sleep(0.5)
            return found

        monkeypatch.setattr(jobs, "open_deadlines", slow)
    else:
        real = jobs.purge_candidates

        def slow(today):
            qs = real(today)
            list(qs)
            time.sleep(0.5)
            return qs

        monkeypatch.setattr(jobs, "purge_candidates", slow)

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run():
        from django.db import connection as thread_connection

        try:
            start.wait(timeout=10)
            jobs.JOBS[job](D(2027, 3, 1), triggered_by="test")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    runs = list(JobRun.objects.filter(job=job).order_by("finished_at"))
    assert [r.status for r in runs] == [JobStatus.DONE, JobStatus.DONE]
    if job == "flag_overdue":
        # Each expired pilot misses closure or extension (R2.4) and, two months after its
        # end, the acceptance report every pilot that reached its end owes (R3.2).
        assert [r.counts["flagged"] for r in runs] == [12, 0]
        assert OverdueEvent.objects.count() == 12
        assert OverdueEvent.history.count() == 12
    else:
        assert [r.counts["purged"] for r in runs] == [6, 0]
        assert Pilot.history.filter(status=Status.PURGED).count() == 6
    assert Notification.objects.filter(organisation=orgs["dept"]).count() == 1


def test_a_backlog_of_events_is_written_with_history_in_two_statements(orgs, make_pilot):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from core.bulk import insert_with_history

    pilot = make_pilot()
    events = [
        OverdueEvent(
            key=f"quarterly:{pilot.pk}:{orgs['dept'].pk}:{i}",
            kind=DeadlineKind.QUARTERLY,
            pilot=pilot,
            organisation=orgs["dept"],
            label=f"第{i}项 “引号” 与 'quote'",
            due_date=D(2020, 1, 1) + dt.timedelta(days=i),
            flagged_on=D(2026, 11, 20),
        )
        for i in range(1500)
    ]
    with CaptureQueriesContext(conn) as queries:
        insert_with_history(OverdueEvent, events, key_field="key", reason="标记逾期")

    assert len(queries) == 2
    assert OverdueEvent.objects.count() == 1500
    last = OverdueEvent.objects.get(key=events[-1].key)
    assert (last.label, last.due_date, last.resolved_on) == (
        events[-1].label,
        events[-1].due_date,
        None,
    )
    history = last.history.get()
    assert (history.history_type, history.history_change_reason) == ("+", "标记逾期")
    assert (history.label, history.due_date, history.organisation_id) == (
        last.label,
        last.due_date,
        orgs["dept"].pk,
    )
    assert OverdueEvent.history.count() == 1500


def test_a_backlog_of_purges_is_written_with_history_in_two_statements_R2_4(orgs, make_pilot):
    """Each purged pilot keeps its own end date in its reason; the rows and their history are
    written in two statements, not a CASE expression per row and field."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    from core.bulk import update_with_history

    pilots = [
        make_pilot(start_date=D(2023, 1, 1), end_date=D(2024, 1, 1) + dt.timedelta(days=i))
        for i in range(300)
    ]
    for pilot in pilots:
        pilot.status_before_purge, pilot.status = pilot.status, Status.PURGED
        pilot.purged_on = D(2026, 11, 20)
        pilot.purge_reason = term.purge_reason(pilot.end_date)
    with CaptureQueriesContext(conn) as queries:
        update_with_history(
            Pilot,
            pilots,
            ["status", "status_before_purge", "purged_on", "purge_reason", "updated_at"],
            reason="清理出库",
        )

    assert len(queries) == 2
    last = Pilot.objects.get(pk=pilots[-1].pk)
    assert (last.status, last.status_before_purge, last.purged_on) == (
        Status.PURGED,
        Status.ACTIVE,
        D(2026, 11, 20),
    )
    assert "2024年10月26日到期" in last.purge_reason
    assert Pilot.objects.get(pk=pilots[0].pk).purge_reason.startswith("试点于2024年1月1日到期")
    history = last.history.first()
    assert (history.history_type, history.history_change_reason) == ("~", "清理出库")
    assert (history.status, history.purge_reason) == (Status.PURGED, last.purge_reason)
    assert Pilot.history.filter(history_type="~").count() == 300
    assert last.updated_at > pilots[0].created_at


def test_overdue_notice_goes_out_by_email_once(
    make_pilot, personas, mailoutbox, django_capture_on_commit_callbacks
):
    personas["dept"].email = "dept@example.gov.cn"
    personas["dept"].save()
    make_pilot(end_date=D(2026, 12, 31))

    with django_capture_on_commit_callbacks(execute=True):
        jobs.flag_overdue(D(2027, 1, 5))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.flag_overdue(D(2027, 1, 6))

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dept@example.gov.cn"]
    assert "新增逾期事项1项" in mailoutbox[0].subject
    assert "R2.4" in mailoutbox[0].body


def test_every_beat_schedule_is_declared_in_one_place_and_installed_after_migrate(db):
    """config/schedule.py is the one declaration; migrate installs what the database lacks and
    never overwrites a schedule the office changed."""
    from config.schedule import BEAT_SCHEDULE, install_schedules

    tasks = dict(PeriodicTask.objects.values_list("task", "name"))
    assert {e.task for e in BEAT_SCHEDULE} <= set(tasks)
    changed = PeriodicTask.objects.get(task="pilots.tasks.flag_overdue_task")
    changed.name = "逾期标记（省办调整为每日两次）"
    changed.save()
    PeriodicTask.objects.filter(task="pilots.tasks.send_reminders_task").delete()
    assert install_schedules() == 1
    assert PeriodicTask.objects.get(task="pilots.tasks.flag_overdue_task").name == changed.name
    assert install_schedules() == 0
