"""The scheduled jobs' lock rows, and their beat schedules (django-celery-beat keeps them in
the database, where the office sees and changes them in the admin)."""

from django.db import migrations

# name, task, minute, hour (Asia/Shanghai)
SCHEDULES = [
    ("逾期标记（每日）", "pilots.tasks.flag_overdue_task", "10", "1"),
    ("到期清理出库（每日）", "pilots.tasks.purge_expired_task", "30", "1"),
    ("到期提醒（每日）", "pilots.tasks.send_reminders_task", "0", "8"),
    ("补发未发出的通知邮件（每10分钟）", "accounts.tasks.send_pending_emails", "*/10", "*"),
    ("清理旧PDF台账文件（每周）", "ledger.tasks.cleanup_old_renders_task", "0", "3"),
]
JOBS = ["flag_overdue", "purge_expired", "send_reminders"]


def create(apps, schema_editor):
    JobLock = apps.get_model("pilots", "JobLock")
    for name in JOBS:
        JobLock.objects.get_or_create(name=name)
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
        day_of_week = "0" if task.endswith("cleanup_old_renders_task") else "*"
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week=day_of_week,
            day_of_month="*",
            month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0005_term_end"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(create, remove)]
