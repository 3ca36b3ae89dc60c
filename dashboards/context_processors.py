from django.http import HttpRequest

from accounts import roles as policy
from accounts.audit_views import may_read_audit
from accounts.constants import Role
from accounts.notification_views import notices_for
from dashboards.metrics import DASHBOARD_ROLES

# Pages of the pilots app that have a top-bar entry of their own.
_OWN_NAV = {"term_queue", "overdue", "overdue_export", "purged", "jobs"}


def _pilot_library(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None or match.app_name != "pilots":
        return False
    return "call" not in match.url_name and match.url_name not in _OWN_NAV


def organisation(request: HttpRequest) -> dict:
    """The user's organisation, role and unread notices, for the top bar (the navigation is
    composed here, above the apps whose pages it links)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_org": user.organisation,
        "current_role": user.get_role_display(),
        "nav_is_office": policy.is_office(user),
        "nav_is_lead": policy.role_of(user) == Role.LEAD_DEPARTMENT,
        "nav_dashboard": policy.role_of(user) in DASHBOARD_ROLES,
        "nav_audit": may_read_audit(user),
        "nav_is_auditor": policy.is_auditor(user),
        "nav_users": policy.is_office(user),
        "nav_pilot_library": _pilot_library(request),
        "unread_count": notices_for(user).filter(read_at__isnull=True).count(),
    }
