from django.db import migrations, models

# The weekly job that used to delete superseded PDF ledgers now archives them (the files stay):
# it runs under its own lock, is logged like every job, and its schedule says what it does.
OLD_NAME = "清理旧PDF台账文件（每周）"
NEW_NAME = "归档被替代的PDF台账（每周）"
TASK = "ledger.tasks.cleanup_old_renders_task"


def forward(apps, schema_editor):
    apps.get_model("pilots", "JobLock").objects.get_or_create(name="archive_renders")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=OLD_NAME, task=TASK
    ).update(name=NEW_NAME)


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=NEW_NAME, task=TASK
    ).update(name=OLD_NAME)


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0012_history_reason_text"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.AlterField(
            model_name="jobrun",
            name="job",
            field=models.CharField(
                choices=[
                    ("flag_overdue", "逾期标记"),
                    ("purge_expired", "到期清理出库"),
                    ("send_reminders", "到期提醒"),
                    ("render_ledgers", "季度PDF台账"),
                    ("archive_renders", "归档被替代的PDF台账"),
                ],
                db_index=True,
                max_length=32,
                verbose_name="任务",
            ),
        ),
    ]
