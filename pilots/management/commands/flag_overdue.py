"""manage.py flag_overdue [--today YYYY-MM-DD]:
标记逾期事项并通知责任单位（R2.2、R2.3、R2.4、R3.2）。
"""

from pilots.constants import JobName
from pilots.management.commands._jobcommand import JobCommand


class Command(JobCommand):
    help = "标记逾期事项并通知责任单位（R2.2、R2.3、R2.4、R3.2）。"
    job = JobName.FLAG_OVERDUE
