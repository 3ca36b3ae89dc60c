"""manage.py generate_pilots --count N [--seed S]: synthetic but plausible pilots for benchmarks
(demo/generate.py)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from demo.generate import generate_pilots


class Command(BaseCommand):
    help = "批量生成合成试点数据（用于性能测试）：--count N [--seed S]。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, required=True, help="要生成的试点数量")
        parser.add_argument("--seed", type=int, default=None, help="随机数种子（可复现）")

    def handle(self, *args, count: int, seed: int | None, **options) -> None:
        if count < 1:
            raise CommandError("--count 必须是正整数。")
        began = time.monotonic()
        created = generate_pilots(count=count, seed=seed)
        elapsed = time.monotonic() - began
        self.stdout.write(self.style.SUCCESS(f"已生成 {created} 个试点，用时 {elapsed:.1f} 秒。"))
