"""manage.py purge_expired [--today YYYY-MM-DD]:
将到期后宽限期内未销号也未申请延期的试点清理出库（R2.4）。
"""

from pilots.constants import JobName
from pilots.management.commands._jobcommand import JobCommand


class Command(JobCommand):
    help = "将到期后宽限期内未销号也未申请延期的试点清理出库（R2.4）。"
    job = JobName.PURGE_EXPIRED
