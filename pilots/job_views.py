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

from core.jobnames import JOBS, job_choices, job_label, job_task
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
    schedules = PeriodicTask.objects.select_related("crontab", "interval").order_by("name")
    return render(
        request,
        "pilots/term/job_list.html",
        {
            "page": page,
            "query": urlencode({"job": job}) if job in JOBS else "",
            "job": job,
            "jobs": job_choices(),
            "schedules": schedules,
        },
    )


def _run_now(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("job", "")
    task = job_task(name)
    if task is None:
        messages.error(request, "未知的定时任务。")
        return redirect("pilots:jobs")
    who = f"{request.user.get_full_name() or request.user.username}手动运行"
    if enqueue(task, triggered_by=who):
        messages.success(request, f"已启动“{job_label(name)}”，运行结果见下方记录。")
    else:
        messages.warning(
            request,
            f"消息队列暂不可用，“{job_label(name)}”已登记，将在队列恢复后自动运行。",
        )
    return redirect("pilots:jobs")
