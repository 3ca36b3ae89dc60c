"""The reviews' deadlines: rectification demands of inspections (R3.3) and expert reviews
(N3). Registered with pilots.deadlines, which enumerates every kind for the overdue job, the
reminders and the home pages."""

from __future__ import annotations

from pilots.constants import DeadlineKind
from pilots.deadlines import Due, due_label
from reviews.models import ExpertReview, Rectification


def rectification(due_from, due_before, orgs) -> list[Due]:
    """R3.3: each open rectification demand of an inspection, by its deadline, owed by the
    organisation it names until it reports its rectification (then the office's closing is
    the office's step, not the unit's)."""
    qs = Rectification.objects.filter(closed_on__isnull=True, follow_up="", due_date__lt=due_before)
    if due_from is not None:
        qs = qs.filter(due_date__gte=due_from)
    if orgs is not None:
        qs = qs.filter(organisation_id__in=list(orgs))
    rows = qs.values_list(
        "pk",
        "inspection__pilot_id",
        "inspection__pilot__code",
        "inspection__pilot__name",
        "organisation_id",
        "due_date",
    )
    return [
        Due(
            DeadlineKind.RECTIFICATION,
            pilot_id,
            org,
            due,
            due_label(code, name, f"督察整改（第{pk}号）"),
        )
        for pk, pilot_id, code, name, org, due in rows.iterator(chunk_size=5000)
    ]


def expert_review(due_from, due_before, orgs) -> list[Due]:
    """N3: each expert review not yet submitted, by its deadline, owed by the expert's
    organisation (the reminders and flags reach the expert's unit). The label names the
    review by its number, never the expert: every reader of the pilot's deadlines sees it."""
    qs = ExpertReview.objects.filter(
        status=ExpertReview.PENDING, due_date__lt=due_before, expert__organisation__isnull=False
    )
    if due_from is not None:
        qs = qs.filter(due_date__gte=due_from)
    if orgs is not None:
        qs = qs.filter(expert__organisation_id__in=list(orgs))
    rows = qs.values_list(
        "pk",
        "pilot_id",
        "pilot__code",
        "pilot__name",
        "expert__organisation_id",
        "due_date",
    )
    return [
        Due(
            DeadlineKind.EXPERT_REVIEW,
            pilot_id,
            org,
            due,
            due_label(code, name, f"专家评审（第{pk}号）"),
        )
        for pk, pilot_id, code, name, org, due in rows.iterator(chunk_size=5000)
    ]
