"""The in-app notification list of the user's organisation."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Notification


def notices_for(user):
    if user.organisation_id is None:
        return Notification.objects.none()
    return Notification.objects.filter(organisation_id=user.organisation_id).filter(
        Q(recipient__isnull=True) | Q(recipient=user)
    )


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notices_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {"page": page, "query": ""})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    from accounts.notify import mark_read

    mark_read(request.user)
    return redirect("notifications")
