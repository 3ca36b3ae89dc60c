from django.http import HttpRequest


def organisation(request: HttpRequest) -> dict:
    """The user's organisation, role and unread notices, for the top bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from accounts import access
    from accounts.constants import Role
    from accounts.notification_views import notices_for

    return {
        "current_org": user.organisation,
        "current_role": user.get_role_display(),
        "nav_is_office": access.is_office(user),
        "nav_is_lead": access.role_of(user) == Role.LEAD_DEPARTMENT,
        "unread_count": notices_for(user).filter(read_at__isnull=True).count(),
    }
