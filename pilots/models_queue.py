"""Background tasks that could not be handed to the message broker (Redis down): kept in the
database and sent when the broker is back, so that no requested work is lost."""

from __future__ import annotations

from django.db import models

__all__ = ["PendingTask"]


class PendingTask(models.Model):
    task = models.CharField("任务", max_length=200)
    args = models.JSONField("参数", default=list)
    kwargs = models.JSONField("命名参数", default=dict)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    attempts = models.PositiveIntegerField("补发次数", default=0)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    sent_at = models.DateTimeField("补发时间", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "待补发任务"
        verbose_name_plural = "待补发任务"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.task} {self.created_at:%Y-%m-%d %H:%M}"
