"""Beat sends the tasks kept while the broker was down, every five minutes."""

from django.db import migrations

# The beat schedules are declared in one place, config/schedule.py, and created after every
# migrate (pilots.apps); this migration no longer writes them.


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0010_pending_tasks"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
