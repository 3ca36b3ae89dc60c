"""Pilot codes (ST-2026-0001): their shape, and the per-year counter that hands them out.

Every way a pilot enters — a call, direct entry, an Excel import, the demo's generator —
takes its code here. The year's CodeSequence row is locked until the surrounding transaction
commits, so two creators never collide, and it only moves forward, so no code is handed out
twice."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.conf import settings

from pilots.models import CodeSequence

CODE_RE = re.compile(rf"^{re.escape(settings.PILOT_CODE_PREFIX)}-(\d{{4}})-(\d{{4,6}})$")


def year_prefix(year: int) -> str:
    """What every code of `year` starts with (ST-2026-)."""
    return f"{settings.PILOT_CODE_PREFIX}-{year}-"


def format_code(year: int, serial: int) -> str:
    return f"{year_prefix(year)}{serial:04d}"


def parse_code(code: str) -> tuple[int, int] | None:
    """(year, serial) of a code of the registry's shape, None for any other text."""
    m = CODE_RE.match(code or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _locked(year: int) -> CodeSequence:
    CodeSequence.objects.get_or_create(year=year)
    return CodeSequence.objects.select_for_update().get(year=year)


def reserve_codes(
    year: int, count: int, *, at_least: int = 0, taken: Collection[str] = ()
) -> list[str]:
    """`count` new codes of `year`, skipping those in `taken`; the counter is first moved to
    `at_least` (codes used outside it, e.g. in an imported file). Call inside a transaction."""
    seq = _locked(year)
    last = max(seq.last, at_least)
    codes = []
    for _ in range(count):
        last += 1
        while format_code(year, last) in taken:
            last += 1
        codes.append(format_code(year, last))
    if last != seq.last:
        seq.last = last
        seq.save(update_fields=["last"])
    return codes


def next_code(year: int) -> str:
    """Hand out the next pilot code for `year` (ST-2026-0001). Call inside a transaction."""
    return reserve_codes(year, 1)[0]
