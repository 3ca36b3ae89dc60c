"""The office's page of the scheduled jobs: their schedules, their recent runs and a button
to run one now (the jobs are registered in core.jobnames by the apps that own them)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.jobnames import (
    JOBS,
    job_choices,
    job_description,
    job_label,
    job_task,
    task_description,
    task_job,
    task_label,
)
from core.jobs import last_runs
from core.models import JobRun
from core.queue import enqueue
from pilots import policy

# States in which a pilot has an end of term to manage.

# --- the scheduled jobs ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def job_list(request: HttpRequest) -> HttpResponse:
    """The office's view of the scheduled jobs: their schedules (kept in the database and
    editable in the admin), their recent runs, and a button to run one now."""
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以查看和运行定时任务。")
    if request.method == "POST":
        return _run_now(request)
    from django_celery_beat.models import PeriodicTask

    runs = JobRun.objects.all()
    job = request.GET.get("job", "")
    if job in JOBS:
        runs = runs.filter(job=job)
    page = Paginator(runs, per_page=30).get_page(request.GET.get("page"))
    tasks = list(PeriodicTask.objects.select_related("crontab", "interval").order_by("name"))
    # A job's last run is its own run log's (JobRun), whoever started it; beat's
    # last_run_at is kept only for tasks that run no registered job.
    runs = last_runs({task_job(t.task) for t in tasks} - {""})
    schedules = [_schedule_row(t, runs.get(task_job(t.task))) for t in tasks]
    return render(
        request,
        "pilots/term/job_list.html",
        {
            "page": page,
            "query": urlencode({"job": job}) if job in JOBS else "",
            "job": job,
            "jobs": job_choices(),
            "job_rows": [(n, label, job_description(n)) for n, label in job_choices()],
            "schedules": schedules,
        },
    )


def schedule_words(task) -> str:
    """When a beat schedule runs, in words: 每日凌晨1:10, 每10分钟."""
    from config.schedule import crontab_words, interval_words

    if task.crontab_id:
        c = task.crontab
        return crontab_words(c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week)
    if task.interval_id:
        return interval_words(task.interval.every, task.interval.period)
    if task.one_off:
        return "运行一次"
    return "未设定运行时间"


def _schedule_row(task, last_run: JobRun | None = None) -> dict:
    """One schedule as the jobs page says it: when, what it does, in words, and how its
    last run went."""
    when = schedule_words(task)
    what = task_description(task.task) or task_label(task.task) or task.name
    return {
        "name": task.name,
        "when": when,
        "what": what,
        "sentence": f"{when}：{what}",
        "enabled": task.enabled,
        "last_run_at": last_run.started_at if last_run else task.last_run_at,
        "last_run": last_run,
    }


def _run_now(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("job", "")
    task = job_task(name)
    if task is None:
        messages.error(request, "未知的定时任务。")
        return redirect("pilots:jobs")
    who = f"{request.user.display_with_unit()}手动运行"
    if enqueue(task, triggered_by=who):
        messages.success(request, f"已启动“{job_label(name)}”，运行结果见下方记录。")
    else:
        messages.warning(
            request,
            f"消息队列暂不可用，“{job_label(name)}”已登记，将在队列恢复后自动运行。",
        )
    return redirect("pilots:jobs")
