"""manage.py render_ledgers [--today YYYY-MM-DD]:
生成上一季度全省和各牵头部门的PDF台账（第二条第（三）项）。
"""

from ledger.constants import LedgerJob
from pilots.management.commands._jobcommand import JobCommand


class Command(JobCommand):
    help = "生成上一季度全省和各牵头部门的PDF台账（R2.3）。"
    job = LedgerJob.RENDER_LEDGERS

    def function(self):
        from ledger.jobs import render_ledgers

        return render_ledgers
