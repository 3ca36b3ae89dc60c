"""The home page ("my work") and the rules page: they compose what every app contributes, so
they live with the dashboards, above the apps they read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.constants import Role
from accounts.roles import role_of
from pilots import rules
from pilots.models import Call
from pilots.selectors import open_overdue_for, status_counts, upcoming_deadlines, work_sections
from reviews.expert import pending_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """ "My work": what the user's organisation has to do, with each deadline's clause."""
    today = timezone.localdate()
    overdue, overdue_total = open_overdue_for(request.user, today)
    expert_tasks = None
    if role_of(request.user) == Role.EXPERT:
        expert_tasks = list(pending_for(request.user))
        for task in expert_tasks:
            # A review still pending after its deadline is past due, as on every other list.
            task.days_late = max((today - task.due_date).days, 0) if task.due_date else 0
    return render(
        request,
        "dashboards/home.html",
        {
            "today": today,
            "sections": work_sections(request.user, today),
            "counts": status_counts(request.user),
            "overdue": overdue,
            "overdue_total": overdue_total,
            "upcoming": upcoming_deadlines(request.user, today),
            "expert_tasks": expert_tasks,
            "open_calls": Call.objects.filter(
                is_cancelled=False, deadline__gte=timezone.now()
            ).order_by("deadline")[:10],
        },
    )


@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    """The regulation's deadlines and limits in force, so the office can see the settings."""
    return render(request, "dashboards/rules.html", {"rules": rules.rules_table()})
