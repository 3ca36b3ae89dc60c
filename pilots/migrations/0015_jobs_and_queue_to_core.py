# The scheduled jobs' run log and locks and the tasks kept while the broker was down belong
# to the shared machinery (core): their tables are renamed to core's, their state moves there.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0014_overlap_reform_concepts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name="JobRun", table="core_jobrun"),
                migrations.AlterModelTable(name="JobLock", table="core_joblock"),
                migrations.AlterModelTable(name="PendingTask", table="core_pendingtask"),
            ],
            state_operations=[
                migrations.DeleteModel(name="JobRun"),
                migrations.DeleteModel(name="JobLock"),
                migrations.DeleteModel(name="PendingTask"),
            ],
        ),
    ]
