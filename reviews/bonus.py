"""Bonus points (加分, R4.1): progress and promotion count in the annual reform assessment, and
strong pilots earn their organisations bonus points. The office records points per pilot and
organisation per year with the reason; the assessment table adds them up per organisation.
A correction is a new entry with negative points, so the record of what was awarded stays."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Sum

from accounts.models import Organisation
from core.dates import YEAR_MAX, YEAR_MIN
from core.history import save_with_history
from pilots import policy
from pilots.models import Pilot
from reviews.models import BonusPoint


def max_points() -> Decimal:
    return Decimal(settings.REVIEW_BONUS_MAX_POINTS)


@transaction.atomic
def award_points(
    *, actor, year: int, organisation: Organisation, points, reason: str, pilot: Pilot | None = None
) -> BonusPoint:
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以录入考核加分。")
    errors = {}
    try:
        value = Decimal(str(points))
    except (InvalidOperation, ValueError):
        value = None
    limit = max_points()
    if value is None or not value.is_finite() or value == 0 or abs(value) > limit:
        errors["points"] = f"加分应为不超过{limit}分的非零数（更正时可为负数）。"
    if not YEAR_MIN <= int(year) <= YEAR_MAX:
        errors["year"] = "请填写正确的考核年度。"
    if not reason.strip():
        errors["reason"] = "请写明加分理由。"
    if errors:
        raise ValidationError(errors)
    entry = BonusPoint(
        year=int(year),
        organisation=organisation,
        pilot=pilot,
        points=value,
        reason=reason.strip()[:300],
        created_by=actor,
    )
    save_with_history(entry, actor=actor, reason="录入考核加分")
    return entry


def assessment_table(year: int) -> list[dict]:
    """R4.1: per organisation, the year's total bonus points and how many entries, highest
    first — one query."""
    return list(
        BonusPoint.objects.filter(year=year)
        .values("organisation_id", "organisation__name")
        .annotate(total=Sum("points"), entries=Count("pk"), pilots=Count("pilot", distinct=True))
        .order_by("-total", "organisation__name")
    )
