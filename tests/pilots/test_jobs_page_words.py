"""The jobs page says in words what each job does and when: no task names, crontab strings
or query counts."""

from __future__ import annotations

import pytest

from config.schedule import BEAT_SCHEDULE, crontab_words, interval_words
from core.jobnames import job_description, task_description


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        (("10", "1", "*", "*", "*"), "每日凌晨1:10"),
        (("0", "8", "*", "*", "*"), "每日上午8:00"),
        (("30", "15", "*", "*", "*"), "每日下午3:30"),
        (("*/10", "*", "*", "*", "*"), "每10分钟"),
        (("0", "3", "*", "*", "0"), "每周日凌晨3:00"),
        (("0", "9", "*", "*", "1,3"), "每周一、周三上午9:00"),
        (("0", "9", "1", "*", "*"), "每月1日上午9:00"),
        (("0", "2", "11", "1,4,7,10", "*"), "每年1月、4月、7月、10月的11日凌晨2:00"),
    ],
)
def test_a_crontab_in_words(cron, words):
    assert crontab_words(*cron) == words


def test_an_irregular_crontab_is_still_given_and_intervals_read_as_words():
    assert crontab_words("5-10", "1", "*", "*", "*").startswith("按计划")
    assert interval_words(5, "minutes") == "每5分钟"
    assert interval_words(1, "days") == "每天"


def test_every_registered_job_and_scheduled_task_has_a_description():
    from core.jobnames import JOBS

    assert all(job_description(name) for name in JOBS)
    assert all(task_description(entry.task) for entry in BEAT_SCHEDULE), [
        e.task for e in BEAT_SCHEDULE if not task_description(e.task)
    ]


def test_the_jobs_page_says_what_and_when_in_words(client_for, db):
    from config.schedule import install_schedules

    install_schedules()
    page = client_for("office").get("/pilots/jobs/").content.decode()
    assert "每日凌晨1:10</strong>：标记逾期事项（R2.2" in page
    assert "每年1月、4月、7月、10月的11日凌晨2:00" in page
    assert "每10分钟" in page and "补发写入时未能发出的通知邮件" in page
    assert "pilots.tasks." not in page and "accounts.tasks." not in page
    assert "Asia/Shanghai" not in page and "*/10" not in page
    assert "查询数" not in page


def test_the_jobs_page_shows_each_jobs_last_run_time_and_result(client_for, db, time_machine):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from config.schedule import install_schedules
    from pilots import jobs

    install_schedules()
    time_machine.move_to(dt.datetime(2026, 3, 31, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    jobs.flag_overdue(dt.date(2026, 3, 31))
    response = client_for("office").get("/pilots/jobs/")
    row = next(r for r in response.context["schedules"] if "标记逾期事项" in r["what"])
    assert row["last_run"] is not None and row["last_run"].job == "flag_overdue"
    page = response.content.decode()
    assert "2026年3月31日 01:10" in page
    # a job never run reads as "—", not as an empty cell
    never = next(r for r in response.context["schedules"] if r["last_run"] is None)
    assert never["last_run_at"] is None
