"""The access policy: who may see and do what on a pilot and on everything hanging off it.

This module is the only place that decides. Pages, the API, the admin, exports, PDFs, the
calendar, notifications, search and overlap flags all ask it; a new read path asks it too.

The policy is one declarative table, `RULES`: each row gives a set of roles, the relation the
user's organisation has to the pilot, the pilot's phases, the actions the row allows and the
clause of the regulation that grounds it. A user may do action X on a pilot when some row for
the user's role, a relation the organisation has to the pilot and the pilot's phase lists X.
The same table is compiled two ways: into a `Q` (lists are filtered in the database, like
NetBox's restricted querysets) and into a check on one pilot (`PilotAccess`, computed once per
user and pilot in a request and read by every panel of the page).

Records hanging off a pilot (applications are pilots in early phases; filings, quarterly
reports, term requests, acceptance reports, evaluations, inspections, files, calendar items,
overlap flags and notices) are visible exactly when their pilot is (`RELATED`), with the two
exceptions written there: an overlap flag shows the other pilot only to those who may see it,
and a notice links to a pilot only for those who may see it.

A record outside a user's reach answers 404 (outsiders do not learn it exists); a record the
user may see but not act on answers 403 with the reason.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from accounts.constants import Role
from accounts.roles import is_auditor, is_office, role_of
from pilots.constants import Stage, Status
from pilots.policy_table import (  # noqa: F401  (the table's names are the policy's)
    ACTIONS,
    AFTER_ENDORSEMENT,
    ALL_PHASES,
    APPLICANT_ROLES,
    EVERYTHING,
    NOTHING,
    OFFICE_ROLES,
    PROVINCIAL,
    RULES,
    SUBMITTED_ONCE,
    UNENDORSED,
    Act,
    Phase,
    Rel,
    Rule,
    phase_of,
    phase_q,
    relation_q,
    relations_of,
    rules_for,
    table_markdown,
)


def pilot_q(user, action: str = Act.VIEW) -> Q:
    """The pilots `user` may do `action` on, as a Q (the table compiled for the database)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    role = role_of(user)
    rules = rules_for(role, action)
    if not rules:
        return NOTHING
    org = user.organisation
    q = NOTHING
    for relation in dict.fromkeys(r.relation for r in rules):
        phases = set().union(*(r.phases for r in rules if r.relation == relation))
        rel_q = relation_q(relation, role, org)
        if rel_q == NOTHING:
            continue
        q |= rel_q if phases == ALL_PHASES else rel_q & phase_q(phases)
    return q


def pilot_filter(user, action: str = Act.VIEW) -> Q:
    """The pilots `user` may see (`view`) or act on, as a Q. Acting needs seeing."""
    if action == Act.VIEW:
        return pilot_q(user, Act.VIEW)
    return pilot_q(user, Act.VIEW) & pilot_q(user, action)


class PilotAccess:
    """What one user may do on one pilot, computed once (per request: it is kept on the user
    object) and read by every panel of the pilot's page."""

    def __init__(self, user, pilot) -> None:
        self.user = user
        self.pilot = pilot
        self.role = role_of(user)
        org = user.organisation if self.role else None
        mine = [r for r in RULES if self.role in r.roles]
        self.relations = relations_of(self.role, org, pilot, {r.relation for r in mine})
        self.phase = phase_of(pilot) if mine else pilot.status
        self.allowed = frozenset(
            a
            for r in mine
            if r.relation in self.relations and self.phase in r.phases
            for a in r.actions
        )
        # Actions the user's relation allows in some phase: the party for it, whatever the
        # state (a domain function refuses the wrong state with its own message).
        self.party_for = frozenset(
            a for r in mine if r.relation in self.relations for a in r.actions
        )

    def may(self, action: str) -> bool:
        return action in self.allowed and (action == Act.VIEW or Act.VIEW in self.allowed)

    @property
    def may_view(self) -> bool:
        return Act.VIEW in self.allowed

    def is_party(self, action: str) -> bool:
        return action in self.party_for


def for_pilot(user, pilot) -> PilotAccess:
    """The user's access to `pilot`, computed once per user object (that is, per request)."""
    cache = getattr(user, "_pilot_access", None)
    if cache is None:
        cache = {}
        try:
            user._pilot_access = cache
        except AttributeError:  # AnonymousUser has slots in some versions; no caching then
            return PilotAccess(user, pilot)
    key = (pilot.pk, pilot.status, pilot.endorsing_prefecture_id)
    access = cache.get(key)
    if access is None:
        access = cache[key] = PilotAccess(user, pilot)
    return access


def can(user, pilot, action: str) -> bool:
    return for_pilot(user, pilot).may(action)


def screening_role(user, pilot) -> str | None:
    """Which party the user screens as at the application's current state, if any."""
    if pilot.status == Status.SUBMITTED and is_screening_prefecture(user, pilot):
        return Stage.PREFECTURE
    if pilot.status == Status.ENDORSED:
        if is_office(user):
            return Stage.OFFICE
        if is_lead_department_of(user, pilot):
            return Stage.DEPARTMENT
    return None


def visible_pilots(user):
    """The pilots `user` may see, as a queryset (to filter related records by)."""
    from pilots.models import Pilot

    return Pilot.objects.restrict(user, Act.VIEW)


def get_pilot_for(user, code: str, action: str = Act.VIEW):
    """Fetch one pilot through the policy: 404 when the user may not see it, 403 when the user
    may see it but not do `action`."""
    from pilots.models import Pilot

    try:
        pilot = (
            Pilot.objects.restrict(user, Act.VIEW)
            .select_related("lead_department", "applicant")
            .get(code=code)
        )
    except (Pilot.DoesNotExist, ValueError) as exc:
        raise Http404("未找到该试点，或您无权查看。") from exc
    if action != Act.VIEW and not can(user, pilot, action):
        raise PermissionDenied("您所在单位或角色无权进行此操作。")
    return pilot


# --- records hanging off a pilot ----------------------------------------------------------------

# Each kind of record is read through its pilot: visible exactly when the pilot is.
RELATED: dict[str, str] = {
    "application": "申报即早期阶段的试点本身，按上表",
    "opinion": "随试点",
    "screening_checklist": "随试点",
    "milestone": "随试点",
    "filing": "随试点（R2.2）",
    "quarterly_report": "随试点（R2.3）",
    "half_year_summary": "报送部门及省办（R2.3）",
    "closure_report": "随试点（R2.4）",
    "extension_request": "随试点（R2.4）",
    "acceptance_report": "随试点（R3.2）",
    "evaluation": "随试点（R3.2）",
    "inspection": "随试点（R3.3）",
    "overdue_event": "随试点",
    "calendar_item": "随试点，且为本单位的期限",
    "file": "随其所属记录",
    "overlap_flag": "随申报方试点；对方试点不可见时只显示“其他单位存在相似申报”，判定由省办作出",
    "notification": "发给本单位；所指试点不可见时不显示链接；审计员不接收业务通知",
}


def related_to_visible(queryset, user, path: str = "pilot"):
    """Records of `queryset` whose pilot (reached through `path`) the user may see."""
    return queryset.filter(**{f"{path}__in": visible_pilots(user).values("pk")})


def may_see_other(user, flag) -> bool:
    """R1.3: whether the user may see the other pilot an overlap flag points at."""
    return can(user, flag.other, Act.VIEW)


def overlap_flags_for(user, pilot) -> list:
    """R1.3: the overlap flags on `pilot` as `user` may read them, best match first. A flag
    against a pilot the user may not see is marked `hidden`: it says only that a similar
    proposal exists elsewhere (no code, name, state or reasons) and its verdict is the
    office's. The other pilots' visibility is one query for all flags."""
    flags = list(
        pilot.overlap_flags.select_related("other__lead_department").order_by("-score", "pk")
    )
    if not flags:
        return flags
    if is_office(user):
        seen = {f.other_id for f in flags}
    else:
        seen = set(
            visible_pilots(user)
            .filter(pk__in=[f.other_id for f in flags])
            .values_list("pk", flat=True)
        )
    for flag in flags:
        flag.hidden = flag.other_id not in seen
    return flags


def may_decide_overlap(user, flag) -> bool:
    """R1.3: a screener records a verdict only on a flag whose other pilot it may see; the
    office decides the rest."""
    return is_office(user) or may_see_other(user, flag)


def receives_notices(user) -> bool:
    """Business notices go to the units that act; the auditor receives none."""
    return role_of(user) is not None and not is_auditor(user)


_PILOT_URL = re.compile(r"^/pilots/(?P<code>[A-Za-z0-9-]{1,20})/")


def hide_links_to_unseen_pilots(user, notices) -> None:
    """A notice links to a pilot's pages only for a user who may see the pilot (one query
    for a page of notices)."""
    codes = {}
    for notice in notices:
        match = _PILOT_URL.match(notice.url or "")
        if match:
            codes[notice.pk] = match["code"]
    seen = (
        set(
            visible_pilots(user).filter(code__in=set(codes.values())).values_list("code", flat=True)
        )
        if codes
        else set()
    )
    for notice in notices:
        notice.link_hidden = notice.pk in codes and codes[notice.pk] not in seen


# --- the application path (N3, N2) --------------------------------------------------------------


def prefecture_id_of(pilot) -> int | None:
    """The prefecture that screens an application: the applicant itself or its parent."""
    return pilot.applicant.prefecture_id


def can_enter_pilot(user) -> bool:
    """R2.2: state- and ministry-deployed pilots, and pilots a department runs itself, are
    entered directly by their lead department (or by the office)."""
    return role_of(user) in (Role.OFFICE, Role.ADMIN, Role.LEAD_DEPARTMENT)


def can_apply(user) -> bool:
    """N3: county bureaus propose and prefecture bureaus apply in a call."""
    return role_of(user) in APPLICANT_ROLES and user.organisation_id is not None


def is_applicant(user, pilot) -> bool:
    return for_pilot(user, pilot).is_party(Act.APPLY)


def is_screening_prefecture(user, pilot) -> bool:
    """N3: the prefecture bureau screens its own and its counties' applications."""
    return for_pilot(user, pilot).is_party(Act.SCREEN)


def is_lead_department_of(user, pilot) -> bool:
    """N2, R2.2, R2.3: the lead department (or its parent department) of the pilot."""
    return for_pilot(user, pilot).is_party(Act.OPINION)


def can_open_call(user) -> bool:
    return is_office(user)


def can_render_ledgers(user) -> bool:
    """R2.3: PDF ledgers are made and read by the office (the province's and every
    department's) and by a lead department (its own)."""
    return is_office(user) or (
        role_of(user) == Role.LEAD_DEPARTMENT and user.organisation_id is not None
    )


__all__ = [
    "ACTIONS",
    "RULES",
    "Act",
    "Phase",
    "PilotAccess",
    "Rel",
    "Rule",
    "can",
    "can_apply",
    "can_enter_pilot",
    "can_open_call",
    "can_render_ledgers",
    "for_pilot",
    "get_pilot_for",
    "is_applicant",
    "is_auditor",
    "is_lead_department_of",
    "is_office",
    "is_screening_prefecture",
    "may_decide_overlap",
    "overlap_flags_for",
    "phase_of",
    "phase_q",
    "pilot_filter",
    "pilot_q",
    "prefecture_id_of",
    "receives_notices",
    "related_to_visible",
    "role_of",
    "visible_pilots",
]
