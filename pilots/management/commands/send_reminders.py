"""manage.py send_reminders [--today YYYY-MM-DD]: 在各项期限前提醒责任单位。"""

from pilots.constants import JobName
from pilots.management.commands._jobcommand import JobCommand


class Command(JobCommand):
    help = "在各项期限前提醒责任单位。"
    job = JobName.SEND_REMINDERS
