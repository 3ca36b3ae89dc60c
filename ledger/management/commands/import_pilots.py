"""manage.py import_pilots FILE.xlsx --user USERNAME [--apply]: import the ledger's pilots
from a workbook in the layout of the ledger export (ledger.imports).

Without --apply the file is only checked: the preview and every error are printed and
nothing is written. With --apply a file without errors is imported in one transaction, as
the acting user (an office account), with history "Excel导入". The exit status is 1 when the
file has errors.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from ledger.constants import ImportStatus
from ledger.imports.batches import apply_import, preview_pilot_import

# Errors printed at most; the rest are counted.
SHOWN_ERRORS = 50


class ImportCommand(BaseCommand):
    """What import_pilots and import_plan share: file, acting user, preview, apply."""

    preview = staticmethod(preview_pilot_import)

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="要导入的 .xlsx 文件")
        parser.add_argument("--user", required=True, help="以哪个账号导入（须为省办账号）")
        parser.add_argument(
            "--apply", action="store_true", help="校验通过后写入数据库（默认只校验、不写入）"
        )

    def handle(self, *args, file: Path, user: str, apply: bool, **options):
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"没有启用的账号“{user}”。")
        try:
            with file.open("rb") as fh:
                batch = self.preview(actor=actor, upload=fh)
        except OSError as exc:
            raise CommandError(f"无法读取 {file}：{exc}") from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        self.report(batch)
        if batch.status != ImportStatus.PREVIEWED:
            raise CommandError(f"校验未通过（{len(batch.errors)} 处错误），未写入任何数据。")
        if not apply:
            self.stdout.write("校验通过。加 --apply 写入数据库。")
            return
        try:
            batch = apply_import(actor=actor, batch=batch)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if batch.status != ImportStatus.APPLIED:
            self.report(batch)
            raise CommandError(batch.error or "导入时重新校验未通过，未写入任何数据。")
        self.stdout.write(self.style.SUCCESS(f"已导入（批次 {batch.pk}）。"))

    def report(self, batch) -> None:
        actions: dict[str, int] = {}
        for row in batch.preview:
            actions[row["action"]] = actions.get(row["action"], 0) + 1
        labels = {"create": "新增", "update": "修改", "unchanged": "无变化", "error": "有错误"}
        summary = "，".join(f"{labels.get(k, k)} {n} 行" for k, n in actions.items())
        self.stdout.write(f"{batch.filename}：共 {batch.rows} 行。{summary}")
        for error in batch.errors[:SHOWN_ERRORS]:
            self.stderr.write(error["text"])
        if len(batch.errors) > SHOWN_ERRORS:
            self.stderr.write(f"……另有 {len(batch.errors) - SHOWN_ERRORS} 处错误。")


class Command(ImportCommand):
    help = "从台账导出格式的 Excel 文件导入试点（默认只校验，加 --apply 写入）。"
