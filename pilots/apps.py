from django.apps import AppConfig


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = "改革试点"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts.notification_views import LINK_GUARDS
        from core.jobnames import register_count_labels, register_job, register_task_description
        from pilots import tasks
        from pilots.constants import DeadlineKind, JobName
        from pilots.panels import Panel, register_panel
        from pilots.policy import hide_links_to_unseen_pilots
        from pilots.term_views import TERM_EXISTS, term_panel

        if hide_links_to_unseen_pilots not in LINK_GUARDS:
            LINK_GUARDS.append(hide_links_to_unseen_pilots)
        for name, task, description in (
            (
                JobName.FLAG_OVERDUE,
                tasks.flag_overdue_task,
                "标记逾期事项（R2.2、R2.3、R2.4、R3.2、R3.3、N3），每项只标记一次，"
                "并通知责任单位；事项办结后自动解除",
            ),
            (
                JobName.PURGE_EXPIRED,
                tasks.purge_expired_task,
                "将期满后超过宽限期仍未销号、也未申请延期的试点清理出库（R2.4）",
            ),
            (
                JobName.SEND_REMINDERS,
                tasks.send_reminders_task,
                "在各项期限前7天和前1天提醒责任单位",
            ),
        ):
            register_job(name, JobName(name).label, task, description=description)
        register_task_description(
            tasks.flush_pending_tasks.name, "消息队列恢复后，补发队列不可用期间登记的任务"
        )
        register_count_labels(
            {
                "flagged": "新增逾期",
                "resolved": "解除",
                "reopened": "重新逾期",
                "open": "未解除",
                "purged": "清理出库",
                "reminded": "发送提醒",
                "requeued": "中断后重新排队",
            },
            kinds=dict(DeadlineKind.choices),
        )
        register_panel(Panel("term", "pilots/term/_panel.html", term_panel, 20, exists=TERM_EXISTS))
        # The jobs' beat schedules, declared once in config/schedule.py, after every migrate.
        post_migrate.connect(_install_schedules, sender=self, dispatch_uid="pilots-schedules")


def _install_schedules(sender, using="default", **kwargs) -> None:
    from config.schedule import install_schedules

    install_schedules()
