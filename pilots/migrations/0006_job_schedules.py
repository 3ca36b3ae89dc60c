"""The scheduled jobs' lock rows, and their beat schedules (django-celery-beat keeps them in
the database, where the office sees and changes them in the admin)."""

from django.db import migrations

# The beat schedules are declared in one place, config/schedule.py, and created after every
# migrate (pilots.apps); this migration writes only the jobs' lock rows.
JOBS = ["flag_overdue", "purge_expired", "send_reminders", "render_ledgers"]


def create_locks(apps, schema_editor):
    JobLock = apps.get_model("pilots", "JobLock")
    for name in JOBS:
        JobLock.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0005_term_end"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(create_locks, migrations.RunPython.noop)]
