from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "备案与台账"

    def ready(self) -> None:
        from core.jobnames import register_count_labels, register_job
        from ledger import deadlines, panels
        from ledger.constants import LedgerJob
        from ledger.tasks import cleanup_old_renders_task, render_ledgers_task
        from pilots.constants import DeadlineKind
        from pilots.deadlines import register_source

        register_source(DeadlineKind.QUARTERLY, deadlines.quarterly)
        register_source(DeadlineKind.HALF_YEAR, deadlines.half_year)

        register_job(
            LedgerJob.RENDER_LEDGERS,
            LedgerJob.RENDER_LEDGERS.label,
            render_ledgers_task,
            description="季度进展报送期限届满后，生成全省和各牵头部门的PDF台账（R2.3）",
        )
        register_job(
            LedgerJob.ARCHIVE_RENDERS,
            LedgerJob.ARCHIVE_RENDERS.label,
            cleanup_old_renders_task,
            description="将已被新版本替代的PDF台账标记为归档，文件保留备查",
        )
        register_count_labels({"requeued": "中断后重新排队", "archived": "归档"})
        panels.register()
