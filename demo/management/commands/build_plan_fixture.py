"""manage.py build_plan_fixture PLAN.txt [--out FILE]: turn a reform implementation plan
published as plain text into the spreadsheet layout that the plan import reads
(demo/plan_fixture.py)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from demo.plan_fixture import DEFAULT_OUT, parse_plan, plan_rows, write_plan_workbook
from ledger.imports.plans import PLAN_INFO_FIELDS


class Command(BaseCommand):
    help = "把文本格式的改革实施方案转换为方案导入用的 Excel 表（每个主要任务一行）。"

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="方案文本文件（UTF-8）")
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="输出的 .xlsx 文件")
        parser.add_argument("--name", default="", help="方案名称（默认取文本中的标题）")
        parser.add_argument("--region", default="", help="地区，如“忻州市忻府区”")
        parser.add_argument("--issued-by", default="", help="印发单位")
        parser.add_argument("--year", type=int, default=None, help="年度")

    def handle(self, *args, source: Path, out: Path, name: str, region: str, **options):
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"无法读取 {source}：{exc}") from exc
        try:
            items = parse_plan(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not name:
            name = next((line.strip() for line in text.splitlines() if "方案" in line), "")
        rows = plan_rows(items)
        info = {
            PLAN_INFO_FIELDS["name"]: name,
            PLAN_INFO_FIELDS["region"]: region,
            PLAN_INFO_FIELDS["issued_by"]: options["issued_by"],
            PLAN_INFO_FIELDS["year"]: options["year"],
        }
        write_plan_workbook(out, rows, info)
        areas = {item.area for item in items}
        self.stdout.write(
            self.style.SUCCESS(
                f"已生成 {out}：{len(areas)} 个领域，{len(items)} 项改革事项，"
                f"{len(rows)} 项主要任务。"
            )
        )
