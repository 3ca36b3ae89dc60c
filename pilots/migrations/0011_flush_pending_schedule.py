"""Beat sends the tasks kept while the broker was down, every five minutes."""

from django.db import migrations

NAME = "补发消息队列不可用时登记的任务"
TASK = "pilots.tasks.flush_pending_tasks"


def create(apps, schema_editor):
    interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=5, period="minutes"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=NAME, defaults={"task": TASK, "interval": interval}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).update(
        enabled=False
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0010_pending_tasks"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(create, remove)]
