from django.apps import AppConfig


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = "改革试点"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts.notification_views import LINK_GUARDS
        from core.jobnames import register_count_labels, register_job
        from pilots import tasks
        from pilots.constants import DeadlineKind, JobName
        from pilots.panels import Panel, register_panel
        from pilots.policy import hide_links_to_unseen_pilots
        from pilots.term_views import term_panel

        if hide_links_to_unseen_pilots not in LINK_GUARDS:
            LINK_GUARDS.append(hide_links_to_unseen_pilots)
        for name, task in (
            (JobName.FLAG_OVERDUE, tasks.flag_overdue_task),
            (JobName.PURGE_EXPIRED, tasks.purge_expired_task),
            (JobName.SEND_REMINDERS, tasks.send_reminders_task),
        ):
            register_job(name, JobName(name).label, task)
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
        register_panel(Panel("term", "pilots/term/_panel.html", term_panel, 20))
        # The jobs' beat schedules, declared once in config/schedule.py, after every migrate.
        post_migrate.connect(_install_schedules, sender=self, dispatch_uid="pilots-schedules")


def _install_schedules(sender, using="default", **kwargs) -> None:
    from config.schedule import install_schedules

    install_schedules()
