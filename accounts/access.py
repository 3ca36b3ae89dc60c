"""The one place that decides what a user may see and do.

Every page, export, job-facing view and API endpoint asks here. Visibility is a `Q` built from
the user's organisation and role, so that lists are filtered in the database (like NetBox's
restricted querysets) and a record outside the user's reach answers 404, never 403: outsiders
do not learn that it exists. A record the user may see but not act on answers 403.

Who sees which pilots:
- the office (and system administrators) see everything;
- a lead department sees what it or its divisions lead, from the prefecture's endorsement on,
  what it entered itself, and approved pilots it takes part in;
- a prefecture bureau sees its own applications, its counties' applications once submitted
  (never their unsubmitted drafts), and every approved pilot in its prefecture's regions;
- a county bureau sees its own applications and approved pilots in its county;
- experts and third parties see no pilots unless assigned to them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from accounts.constants import Role
from pilots.constants import APPROVED_OR_LATER, EDITABLE_STATES, PRIVATE_DRAFT_STATES, Status

NOTHING = Q(pk__in=[])

# Application states a lead department does not see: the prefecture has not endorsed them yet.
_BEFORE_ENDORSEMENT = [Status.DRAFT, Status.SUBMITTED, Status.RETURNED]


def role_of(user) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return user.role or None


def is_office(user) -> bool:
    return role_of(user) in (Role.OFFICE, Role.ADMIN)


def _in_regions(org_q: Q) -> Q:
    from pilots.models import Pilot

    through = Pilot.regions.through.objects.filter(org_q, pilot=OuterRef("pk"))
    return Q(Exists(through))


def _participates(org) -> Q:
    from pilots.models import Pilot

    through = Pilot.participating_units.through.objects.filter(
        pilot=OuterRef("pk"), organisation=org
    )
    return Q(Exists(through))


def pilot_filter(user, action: str = "view") -> Q:
    """The pilots `user` may `view` or `change` (edit the content of), as a Q."""
    role = role_of(user)
    if role is None:
        return NOTHING
    org = user.organisation
    if action == "view":
        return _pilot_view(role, org)
    if action == "change":
        return _pilot_view(role, org) & _pilot_change(role, org)
    raise ValueError(f"unknown action {action!r}")


def _pilot_view(role: str, org) -> Q:
    if role in (Role.OFFICE, Role.ADMIN):
        return ~NOTHING
    if org is None:
        return NOTHING
    if role == Role.LEAD_DEPARTMENT:
        leads = Q(lead_department=org) | Q(lead_department__parent=org)
        return (
            (leads & ~Q(status__in=_BEFORE_ENDORSEMENT))
            | Q(applicant=org)
            | (_participates(org) & Q(status__in=APPROVED_OR_LATER))
        )
    if role == Role.PREFECTURE:
        counties_submitted = Q(applicant__parent=org) & ~Q(status__in=PRIVATE_DRAFT_STATES)
        in_area = _in_regions(Q(organisation=org) | Q(organisation__parent=org))
        return Q(applicant=org) | counties_submitted | (in_area & Q(status__in=APPROVED_OR_LATER))
    if role == Role.COUNTY:
        return Q(applicant=org) | (
            _in_regions(Q(organisation=org)) & Q(status__in=APPROVED_OR_LATER)
        )
    return NOTHING


def _pilot_change(role: str, org) -> Q:
    editable = Q(status__in=EDITABLE_STATES)
    if role in (Role.OFFICE, Role.ADMIN):
        return editable
    if org is None:
        return NOTHING
    if role == Role.LEAD_DEPARTMENT:
        leads = Q(lead_department=org) | Q(lead_department__parent=org)
        return editable & (Q(applicant=org) | (leads & Q(status=Status.APPROVED)))
    if role in (Role.PREFECTURE, Role.COUNTY):
        return Q(applicant=org) & Q(status__in=[Status.DRAFT, Status.RETURNED])
    return NOTHING


def visible_pilots(user):
    """The pilots `user` may see, as a queryset (for filtering related records by it)."""
    from pilots.models import Pilot

    return Pilot.objects.restrict(user, "view")


def can_enter_pilot(user) -> bool:
    """R2.2: state- and ministry-deployed pilots, and pilots a department runs itself, are
    entered directly by their lead department (or by the office)."""
    return role_of(user) in (Role.OFFICE, Role.ADMIN, Role.LEAD_DEPARTMENT)


def get_pilot_for(user, code: str, action: str = "view"):
    """Fetch one pilot through the gate: 404 when the user may not see it, 403 when the user
    may see it but not perform `action` on it."""
    from pilots.models import Pilot

    visible = Pilot.objects.restrict(user, "view")
    try:
        pilot = visible.select_related("lead_department", "applicant").get(code=code)
    except Pilot.DoesNotExist as exc:
        raise Http404("未找到该试点，或您无权查看。") from exc
    if action != "view" and not Pilot.objects.restrict(user, action).filter(pk=pilot.pk).exists():
        raise PermissionDenied("您所在单位或角色无权进行此操作。")
    return pilot


# --- the application path (N3, N2) -------------------------------------------------------


def prefecture_id_of(pilot) -> int | None:
    """The prefecture that screens an application: the applicant itself or its parent."""
    return pilot.applicant.prefecture_id


def can_apply(user) -> bool:
    """N3: county bureaus propose and prefecture bureaus apply in a call."""
    return role_of(user) in (Role.COUNTY, Role.PREFECTURE) and user.organisation_id is not None


def is_applicant(user, pilot) -> bool:
    return can_apply(user) and pilot.applicant_id == user.organisation_id


def is_screening_prefecture(user, pilot) -> bool:
    """N3: the prefecture bureau screens its own and its counties' applications."""
    return role_of(user) == Role.PREFECTURE and prefecture_id_of(pilot) == user.organisation_id


def is_lead_department_of(user, pilot) -> bool:
    """N2: the lead department (or its parent department) of the pilot's field."""
    if role_of(user) != Role.LEAD_DEPARTMENT or user.organisation_id is None:
        return False
    lead = pilot.lead_department
    return user.organisation_id in (lead.pk, lead.parent_id)


def can_open_call(user) -> bool:
    return is_office(user)
