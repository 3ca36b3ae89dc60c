"""manage.py import_plan FILE.xlsx --user USERNAME [--apply]: import a reform implementation
plan (one row per main task: 领域, 序号, 改革事项, 事项内容, 主要任务, 牵头单位, 参加单位; an
optional sheet 方案信息) — see ledger.imports.

Units are matched against the organisation directory; a unit it lacks is reported, never
created. For the sample plan, load its units first (manage.py load_demo does):

    manage.py import_plan ledger/data/xinfu-reform-plan-2018.xlsx --user office --apply
"""

from __future__ import annotations

from ledger.imports.batches import preview_plan_import
from ledger.management.commands.import_pilots import ImportCommand


class Command(ImportCommand):
    help = "导入改革实施方案（每个主要任务一行；默认只校验，加 --apply 写入）。"

    preview = staticmethod(preview_plan_import)
