"""manage.py load_demo: organisations, one account per role and realistic demo pilots."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.load import load_demo
from demo.people import DEMO_ACCOUNTS, DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "载入演示数据：单位名录、各角色演示账号和改革试点示例。可重复运行，"
        "已存在的数据不会重复创建。"
    )

    def handle(self, *args, **options) -> None:
        result = load_demo()
        self.stdout.write(f"单位：{result.organisations} 个（按名录核对）")
        self.stdout.write(
            f"账号：新建 {result.users_created} 个，更新 {result.users_updated} 个；"
            f"演示账号 {', '.join(a.username for a in DEMO_ACCOUNTS)}，密码 {DEMO_PASSWORD}"
        )
        self.stdout.write(
            f"试点：新建 {result.pilots_created} 个（时间节点 {result.milestones_created} 个），"
            f"已存在 {result.pilots_existing} 个"
        )
        self.stdout.write(self.style.SUCCESS("演示数据已就绪。"))
