"""The shared shape of the scheduled jobs' commands: `--today YYYY-MM-DD` replays a day."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from pilots.jobs import JOBS


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"日期格式应为 YYYY-MM-DD，收到：{value}") from exc


class JobCommand(BaseCommand):
    job = ""

    def function(self):
        return JOBS[self.job]

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", help="按该日期运行（YYYY-MM-DD），用于补跑或重放某一天；默认今天"
        )

    def handle(self, *args, today: str | None = None, **options):
        day = parse_day(today) if today else None
        run = self.function()(day, triggered_by="命令行")
        counts = "，".join(f"{k}={v}" for k, v in run.counts.items()) or "无变化"
        self.stdout.write(
            self.style.SUCCESS(
                f"{run.get_job_display()}（{run.today}）完成：{counts}；"
                f"查询 {run.queries} 次，用时 {run.seconds} 秒。"
            )
        )
