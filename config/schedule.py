"""Every beat schedule of the registry, declared here and nowhere else (Asia/Shanghai).

django-celery-beat keeps schedules in the database, where the office sees and changes them on
the jobs page and in the admin. After every `migrate` the schedules below that the database
lacks are created (found by their task, so a schedule the office renamed or re-timed is left
as it is); nothing here ever overwrites or removes a schedule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    task: str
    # A crontab (minute hour day_of_month month_of_year day_of_week) or an interval in minutes.
    cron: tuple[str, str, str, str, str] | None = None
    every_minutes: int | None = None


BEAT_SCHEDULE: tuple[Entry, ...] = (
    # Every night at 01:10: record each deadline missed (R2.2–R3.3) once and tell its unit.
    Entry("逾期标记（每日）", "pilots.tasks.flag_overdue_task", cron=("10", "1", "*", "*", "*")),
    # Every night at 01:30: purge what nobody closed or extended within the grace (R2.4).
    Entry(
        "到期清理出库（每日）", "pilots.tasks.purge_expired_task", cron=("30", "1", "*", "*", "*")
    ),
    # Every morning at 08:00: remind each unit of deadlines 7 and 1 days ahead.
    Entry("到期提醒（每日）", "pilots.tasks.send_reminders_task", cron=("0", "8", "*", "*", "*")),
    # Every 10 minutes: e-mails of notices that could not be queued when they were written.
    Entry(
        "补发未发出的通知邮件（每10分钟）",
        "accounts.tasks.send_pending_emails",
        cron=("*/10", "*", "*", "*", "*"),
    ),
    # Sundays at 03:00: mark superseded PDF ledgers as archived (their files are kept).
    Entry(
        "归档被替代的PDF台账（每周）",
        "ledger.tasks.cleanup_old_renders_task",
        cron=("0", "3", "*", "*", "0"),
    ),
    # On the 11th of January, April, July and October at 02:00, once the quarter's reports
    # are due (R2.3): the PDF ledgers of the province and of each lead department.
    Entry(
        "季度PDF台账（每季度）",
        "ledger.tasks.render_ledgers_task",
        cron=("0", "2", "11", "1,4,7,10", "*"),
    ),
    # Every 5 minutes: hand the broker the tasks kept while it was down.
    Entry("补发消息队列不可用时登记的任务", "pilots.tasks.flush_pending_tasks", every_minutes=5),
)


def install_schedules(**kwargs) -> int:
    """Create the schedules the database lacks; returns how many. Connected to post_migrate."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    have = set(PeriodicTask.objects.values_list("task", flat=True))
    created = 0
    for entry in BEAT_SCHEDULE:
        if entry.task in have:
            continue
        if entry.cron is not None:
            minute, hour, day_of_month, month_of_year, day_of_week = entry.cron
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
                timezone="Asia/Shanghai",
            )
            PeriodicTask.objects.create(name=entry.name, task=entry.task, crontab=crontab)
        else:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=entry.every_minutes, period=IntervalSchedule.MINUTES
            )
            PeriodicTask.objects.create(name=entry.name, task=entry.task, interval=interval)
        created += 1
    return created


_WEEKDAYS = {
    "0": "日", "7": "日", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六",
    "sun": "日", "mon": "一", "tue": "二", "wed": "三", "thu": "四", "fri": "五", "sat": "六",
}  # fmt: skip


def _clock(hour: int, minute: int) -> str:
    """凌晨1:10, 上午8:00, 中午12:00, 下午3:30, 晚上8:00: as a notice says the time."""
    if hour < 6:
        part = "凌晨"
    elif hour < 12:
        part = "上午"
    elif hour < 13:
        part = "中午"
    elif hour < 18:
        part = "下午"
    else:
        part = "晚上"
    shown = hour - 12 if hour > 12 else hour
    return f"{part}{shown}:{minute:02d}"


def _listed(field: str, unit: str) -> str:
    return "、".join(f"{value}{unit}" for value in field.split(","))


def crontab_words(
    minute: str, hour: str, day_of_month: str, month_of_year: str, day_of_week: str
) -> str:
    """A crontab in words: ("10", "1", "*", "*", "*") → 每日凌晨1:10; ("*/10", "*", "*", "*",
    "*") → 每10分钟; ("0", "2", "11", "1,4,7,10", "*") → 每年1月、4月、7月、10月的11日凌晨2:00.
    A schedule too irregular for words is given as it is, after 按计划."""
    fields = (minute, hour, day_of_month, month_of_year, day_of_week)
    raw = "按计划 " + " ".join(fields)
    if minute.startswith("*/") and (hour, day_of_month, month_of_year, day_of_week) == ("*",) * 4:
        return f"每{minute[2:]}分钟"
    if minute == "*" and (hour, day_of_month, month_of_year, day_of_week) == ("*",) * 4:
        return "每分钟"
    if hour.startswith("*/") and minute.isdigit() and (day_of_month, month_of_year) == ("*", "*"):
        return f"每{hour[2:]}小时（第{int(minute)}分）"
    if not (minute.isdigit() and all(part.isdigit() for part in hour.split(","))):
        return raw
    clock = "、".join(_clock(int(h), int(minute)) for h in hour.split(","))
    if day_of_week != "*":
        days = [_WEEKDAYS.get(d.lower()) for d in day_of_week.split(",")]
        if None in days or (day_of_month, month_of_year) != ("*", "*"):
            return raw
        return f"每{'、'.join(f'周{d}' for d in days)}{clock}"
    if day_of_month == "*" and month_of_year == "*":
        return f"每日{clock}"
    if month_of_year == "*":
        return f"每月{_listed(day_of_month, '日')}{clock}"
    if day_of_month == "*":
        return raw
    return f"每年{_listed(month_of_year, '月')}的{_listed(day_of_month, '日')}{clock}"


def interval_words(every: int, period: str) -> str:
    """每5分钟, 每2小时, 每天."""
    units = {"seconds": "秒", "minutes": "分钟", "hours": "小时", "days": "天"}
    unit = units.get(period, period)
    return f"每{unit}" if every == 1 and unit == "天" else f"每{every}{unit}"
