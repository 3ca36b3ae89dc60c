"""manage.py reindex_overlap [--batch-size N]: rebuild the R1.3 overlap index of every pilot.

Run after installing, after a bulk import that bypassed the services, whenever
pilots.overlap.VERSION changed (until then pilots indexed by another version are compared from
their text, which is slower) and after editing pilots/data/reform_terms.txt (until then the
index keeps the reform items of the old glossary). The rebuild is one transaction: checks
running meanwhile keep seeing the old index.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from pilots import overlap


class Command(BaseCommand):
    help = "重建全部试点的重复交叉索引（R1.3）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="每批处理的试点数（默认1000）"
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size 须为正整数。")
        started = time.perf_counter()
        counts = overlap.reindex_all(batch_size=batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"已重建重复交叉索引：试点 {counts['pilots']} 个，分带 {counts['bands']} 行，"
                f"词项 {counts['terms']} 行，改革事项 {counts['concepts']} 行，"
                f"用时 {time.perf_counter() - started:.1f} 秒。"
            )
        )
