from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from pilots import rules
from pilots.models import Call
from pilots.selectors import open_overdue_for, status_counts, upcoming_deadlines, work_sections


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """ "My work": what the user's organisation has to do, with each deadline's clause."""
    today = timezone.localdate()
    overdue, overdue_total = open_overdue_for(request.user, today)
    return render(
        request,
        "accounts/home.html",
        {
            "today": today,
            "sections": work_sections(request.user, today),
            "counts": status_counts(request.user),
            "overdue": overdue,
            "overdue_total": overdue_total,
            "upcoming": upcoming_deadlines(request.user, today),
            "expert_tasks": _expert_tasks(request.user),
            "open_calls": Call.objects.filter(
                is_cancelled=False, deadline__gte=timezone.now()
            ).order_by("deadline")[:10],
        },
    )


@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    """The regulation's deadlines and limits in force, so the office can see the settings."""
    return render(request, "accounts/rules.html", {"rules": rules.rules_table()})


def _expert_tasks(user):
    from accounts.constants import Role
    from accounts.roles import role_of

    if role_of(user) != Role.EXPERT:
        return None
    from reviews.expert import pending_for

    return pending_for(user)


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and container health checks: the database answers."""
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception:  # any database failure means unhealthy, with no details leaked
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
