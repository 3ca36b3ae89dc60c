"""When the demo's records were "made": moments of a day, and history rows dated to them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone


def at(day: dt.date, i: int = 0) -> dt.datetime:
    """A working-hours moment of `day`, varied by `i`."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9 + i % 8, 5 + 7 * (i % 7))))


def backdate(records, moments: Sequence[dt.datetime]) -> None:
    """Give an object's history rows (oldest first) the moments they stand for."""
    for record, moment in zip(records.order_by("history_id"), moments, strict=False):
        type(record).objects.filter(pk=record.pk).update(history_date=moment)
