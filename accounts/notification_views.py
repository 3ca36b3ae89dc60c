"""The in-app notification list of the user's organisation."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import channels
from accounts.models import Notification
from accounts.notify import notices_for
from accounts.roles import is_auditor

# Checks that hide a notice's link from a user who may not open it, filled by the apps that
# own the linked pages (the pilots' policy registers one in its AppConfig.ready()). Each takes
# the user and the notices of one page and sets `link_hidden` on those it must hide.
LINK_GUARDS: list[Callable[[object, list[Notification]], None]] = []


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notices_for(request.user), 50).get_page(request.GET.get("page"))
    notices = list(page.object_list)
    for guard in LINK_GUARDS:
        guard(request.user, notices)
    page.object_list = notices
    # Messages the organisation's channels could not deliver after the last try.
    org_id = None if is_auditor(request.user) else request.user.organisation_id
    undelivered = channels.undelivered(org_id)
    return render(
        request,
        "accounts/notifications.html",
        {"page": page, "query": "", "undelivered": undelivered[:50]},
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    from accounts.notify import mark_read

    mark_read(request.user)
    return redirect("notifications")
