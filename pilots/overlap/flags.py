"""R1.3 flags: recording a pilot's overlaps as OverlapFlag rows, and the hooks that run the
check on every way into the library (submission, direct entry, filing, edits, imports)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from pilots.models import OverlapFlag, Pilot
from pilots.overlap.index import (
    index_pilot,
)
from pilots.overlap.query import ELIGIBLE_STATES, find_overlaps


def record_overlaps(pilot) -> list[OverlapFlag]:
    """Run find_overlaps and upsert one OverlapFlag per candidate (at most
    settings.OVERLAP_MAX_FLAGS), keeping any verdict, note and decider already recorded. Flags
    of pilots no longer found are left as they are. Returns the flags of the current
    candidates, best first."""
    if pilot.pk is None:
        raise ValueError("record_overlaps: the pilot must be saved first")
    candidates = find_overlaps(pilot)
    flags: list[OverlapFlag] = []
    with transaction.atomic():
        # Serialise concurrent checks of the same pilot (SQLite serialises writers anyway).
        list(Pilot.objects.select_for_update().filter(pk=pilot.pk).values_list("pk"))
        existing = {f.other_id: f for f in OverlapFlag.objects.filter(pilot_id=pilot.pk)}
        for cand in candidates:
            flag = existing.get(cand.pilot_id)
            if flag is None:
                flag = OverlapFlag(
                    pilot_id=pilot.pk,
                    other_id=cand.pilot_id,
                    score=cand.score,
                    reasons=cand.reasons,
                )
                flag._change_reason = "重复交叉检查"
                flag.save()
            elif flag.score != cand.score or flag.reasons != cand.reasons:
                flag.score = cand.score
                flag.reasons = cand.reasons
                flag._change_reason = "重复交叉检查：更新相似度和提示原因"
                flag.save(update_fields=["score", "reasons"])
            flags.append(flag)
    return flags


def check_pilots(pilot_ids: Iterable[int], *, index: bool = True) -> int:
    """Index (unless already done) and check the given pilots that are in the library
    (submitted or later, still in play); returns the number of flags recorded. One query reads
    them all; each check is its own transaction, so a long batch holds no lock for long."""
    flagged = 0
    for pilot in Pilot.objects.filter(pk__in=list(pilot_ids), status__in=ELIGIBLE_STATES).only(
        "pk", "name", "goal", "measures", "scope", "kind", "origin", "field", "status"
    ):
        if index:
            index_pilot(pilot)
        flagged += len(record_overlaps(pilot))
    return flagged


def check_on_commit(pilot, *, library_only: bool = False) -> None:
    """R1.3 on every way into the library: once the transaction commits, index the pilot's
    text and record its overlap flags. With `library_only`, a pilot not (or no longer) in the
    library — a draft, a withdrawn or rejected application — is only indexed."""

    def _check() -> None:
        index_pilot(pilot)
        if not library_only or pilot.status in ELIGIBLE_STATES:
            record_overlaps(pilot)

    transaction.on_commit(_check)


def check_ids_on_commit(pilot_ids: Iterable[int], *, index: bool = False) -> None:
    """check_pilots after commit (for bulk writers that index on their own first)."""
    ids = list(pilot_ids)
    if ids:
        transaction.on_commit(lambda: check_pilots(ids, index=index))
